#include "experiments/result_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::experiments {

namespace {

nlohmann::json read_document(const std::filesystem::path& path) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& error) {
    throw Error(path.string() + " is not valid JSON (" + error.what() + "); move it away to start the sweep afresh");
  }
  if (!document.is_object() || !document.contains("points") || !document["points"].is_array()) {
    throw Error(path.string() + " is not a whittle result file (no \"points\" list)");
  }
  return document;
}

// Holds an exclusive advisory lock on `<store>.lock` while alive, so that the
// reread-merge-write of one process never interleaves with another's.
class StoreLock {
 public:
  explicit StoreLock(const std::filesystem::path& store_path) {
    std::string lock_path = store_path.string() + ".lock";
    descriptor_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (descriptor_ < 0) throw Error("cannot open lock file " + lock_path + ": " + std::strerror(errno));
    while (::flock(descriptor_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(descriptor_);
        throw Error("cannot lock " + lock_path + ": " + std::strerror(errno));
      }
    }
  }
  ~StoreLock() { ::close(descriptor_); }
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  int descriptor_ = -1;
};

}  // namespace

ResultStore ResultStore::open_existing(const std::filesystem::path& path) {
  ResultStore store;
  store.path_ = path;
  store.document_ = read_document(path);
  return store;
}

ResultStore::ResultStore(std::filesystem::path path, nlohmann::json signature) : path_(std::move(path)) {
  if (!std::filesystem::exists(path_)) {
    document_ = {{"signature", std::move(signature)}, {"points", nlohmann::json::array()}};
    save();
    return;
  }
  document_ = read_document(path_);
  if (document_.value("signature", nlohmann::json()) != signature) {
    throw Error(path_.string() + " holds results of a different setup (" + document_["signature"].dump() +
                "); use another output directory or move it away");
  }
}

bool ResultStore::has(const std::string& key) const { return get(key).has_value(); }

void ResultStore::refresh() {
  StoreLock lock(path_);
  reload_points();
}

bool ResultStore::finished_elsewhere(const std::string& key) {
  refresh();
  return has(key);
}

void ResultStore::reload_points() {
  if (std::filesystem::exists(path_)) document_["points"] = read_document(path_)["points"];
}

std::optional<nlohmann::json> ResultStore::get(const std::string& key) const {
  for (const auto& point : document_["points"]) {
    if (point.at("key") == key) return point.at("value");
  }
  return std::nullopt;
}

void ResultStore::put(const std::string& key, nlohmann::json value, nlohmann::json timing) {
  StoreLock lock(path_);
  reload_points();  // another process may have added points since this one last looked
  nlohmann::json entry = {{"key", key}, {"value", std::move(value)}};
  if (!timing.is_null()) entry["timing"] = std::move(timing);
  for (auto& point : document_["points"]) {
    if (point.at("key") == key) {
      point = std::move(entry);
      save();
      return;
    }
  }
  document_["points"].push_back(std::move(entry));
  save();
}

std::vector<std::pair<std::string, nlohmann::json>> ResultStore::points() const {
  std::vector<std::pair<std::string, nlohmann::json>> all;
  for (const auto& point : document_["points"]) all.emplace_back(point.at("key"), point.at("value"));
  return all;
}

void ResultStore::save() const { write_file_atomically(path_, document_.dump(2) + "\n"); }

}  // namespace whittle::experiments
