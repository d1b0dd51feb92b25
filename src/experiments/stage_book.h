#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace whittle::experiments {

// The record of a pipeline's finished stages, kept in one JSON file that is
// rewritten atomically after each stage: a killed run restarts and skips
// what is done. Processes sharing a run record under a lock, each adding its
// stage to what the others recorded.
class StageBook {
 public:
  explicit StageBook(std::filesystem::path path);

  bool done(const std::string& stage) const;
  // Rereads the file: other processes sharing the run may have recorded stages.
  void refresh();
  // The summary a finished stage recorded.
  std::optional<nlohmann::json> summary(const std::string& stage) const;
  void record(const std::string& stage, const nlohmann::json& summary, double seconds);
  // {"<stage>": {"seconds": s, "finished": "<UTC time>", "summary": {...}}, ...}
  const nlohmann::json& entries() const { return entries_; }

 private:
  std::filesystem::path path_;
  nlohmann::json entries_ = nlohmann::json::object();
};

}  // namespace whittle::experiments
