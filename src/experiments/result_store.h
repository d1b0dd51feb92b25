#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/file_lock.h"

namespace whittle::experiments {

// The finished points of a sweep, one JSON object per key, kept in one JSON
// file that is rewritten atomically after every point. A killed sweep
// reopens the file and skips the keys it holds: no point is lost, none is
// run or counted twice. Several processes, on one machine or on several that
// share the directory, may share one store: a process claims a point before
// running it, and every write takes a lock, rereads the file and adds its
// point to what the others wrote.
class ResultStore {
 public:
  // Opens (or starts) the store at `path`. `signature` describes what the
  // sweep measures (base model, data, options); reopening a store made with
  // a different signature is an error, so results of different setups never mix.
  // Temporaries that killed processes left in the store's folder (and its
  // subfolders: saved models) are removed (util/temporaries.h).
  ResultStore(std::filesystem::path path, nlohmann::json signature);

  // Opens an existing store whatever its signature (for reading and redrawing).
  static ResultStore open_existing(const std::filesystem::path& path);

  const nlohmann::json& signature() const { return document_.at("signature"); }
  bool has(const std::string& key) const;
  // Rereads the points that other processes sharing the file have written.
  void refresh();
  std::optional<nlohmann::json> get(const std::string& key) const;
  // `timing` (null: none) is kept beside the value: when and for how long
  // the point ran, which says nothing about what it measured.
  void put(const std::string& key, nlohmann::json value, nlohmann::json timing = nullptr);
  // Points in the order they were first recorded.
  std::vector<std::pair<std::string, nlohmann::json>> points() const;
  const std::filesystem::path& path() const { return path_; }

  // Claims `key` for this process while the returned lock lives; none if
  // another live process holds it. A claim ends with its process, however
  // that ends, so a point whose process was killed is taken over by the next
  // process that asks, and no point runs in two processes at once.
  std::optional<FileLock> claim(const std::string& key) const;
  // Runs `write` (figures, tables: what is derived from the points) unless it
  // already ran on exactly the points the file holds now. Processes take
  // turns, so of several that finish a shared sweep one writes. Returns
  // whether `write` ran.
  bool write_outputs_once(const std::function<void()>& write);

 private:
  ResultStore() = default;
  void save() const;
  void reload_points();  // caller holds the lock

  std::filesystem::path path_;
  nlohmann::json document_;
};

}  // namespace whittle::experiments
