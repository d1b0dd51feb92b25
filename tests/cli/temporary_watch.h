#pragma once
// Watches a folder tree (inotify) for the temporaries of whittle's atomic
// writes (util/temporaries.h): each one marks the moment its writer starts
// writing a file or a folder, which is when a kill tests the most.
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace whittle::cli_testing {

// What a write was, told by its temporary.
enum class WriteKind {
  result,      // a result store or the lab's stage record (results.json, stages.json)
  checkpoint,  // a saved model or resume state: a folder, or a file inside one being built
  other,       // an "output write": tables, figures, reports
};
const char* to_string(WriteKind kind);

struct CreatedTemporary {
  std::filesystem::path path;
  long writer_pid = 0;
  WriteKind kind = WriteKind::other;
};

// Classifies a temporary's path; none if it is no temporary.
std::optional<CreatedTemporary> as_temporary(const std::filesystem::path& path, bool is_folder);

// The temporaries under `root` (all of them, or those of one writer).
std::vector<std::filesystem::path> temporaries_under(const std::filesystem::path& root, long writer_pid = 0);

class TemporaryWatch {
 public:
  using Callback = std::function<void(const CreatedTemporary&)>;
  // Watches `root` and every folder created under it; `on_created` runs on
  // the watch's own thread, as soon as a temporary appears.
  TemporaryWatch(const std::filesystem::path& root, Callback on_created);
  ~TemporaryWatch();
  TemporaryWatch(const TemporaryWatch&) = delete;
  TemporaryWatch& operator=(const TemporaryWatch&) = delete;

 private:
  void watch_tree(const std::filesystem::path& dir);
  void handle(int watch, const std::string& name, bool is_folder);
  void run();

  int inotify_ = -1;
  int wake_[2] = {-1, -1};
  std::map<int, std::filesystem::path> folders_;  // watch descriptor -> folder
  Callback on_created_;
  std::thread thread_;
};

}  // namespace whittle::cli_testing
