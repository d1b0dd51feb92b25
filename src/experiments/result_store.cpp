#include "experiments/result_store.h"

#include <cctype>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/file_lock.h"
#include "util/hash.h"
#include "util/temporaries.h"

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

std::filesystem::path claims_dir(const std::filesystem::path& store_path) {
  return store_path.string() + ".claims";
}

FileLock lock_store(const std::filesystem::path& store_path) {
  return FileLock::acquire(store_path.string() + ".lock");
}

// Keys become file names, percent-encoded so that no two keys share one.
std::string claim_file_name(const std::string& key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string name;
  for (char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '.' || c == '_' || c == '-') {
      name += c;
    } else {
      name += {'%', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return name + ".lock";
}

}  // namespace

ResultStore ResultStore::open_existing(const std::filesystem::path& path) {
  ResultStore store;
  store.path_ = path;
  store.document_ = read_document(path);
  return store;
}

namespace {

// The first setting that differs, e.g. `base_model_digest: stored "a1...",
// now "b2..."`, or the whole stored signature when they share no keys.
std::string signature_difference(const nlohmann::json& stored, const nlohmann::json& wanted) {
  if (stored.is_object() && wanted.is_object()) {
    for (const auto& [key, value] : wanted.items()) {
      nlohmann::json before = stored.value(key, nlohmann::json());
      if (before != value) return key + ": stored " + before.dump() + ", now " + value.dump();
    }
  }
  return "stored " + stored.dump();
}

}  // namespace

ResultStore::ResultStore(std::filesystem::path path, nlohmann::json signature) : path_(std::move(path)) {
  const std::filesystem::path folder = path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  std::filesystem::create_directories(folder);
  remove_stale_temporaries(folder);
  // Under the lock: a process that starts the file must not overwrite the
  // points another one has just stored in it.
  FileLock lock = lock_store(path_);
  if (!std::filesystem::exists(path_)) {
    document_ = {{"signature", std::move(signature)}, {"points", nlohmann::json::array()}};
    save();
    return;
  }
  document_ = read_document(path_);
  const nlohmann::json stored = document_.value("signature", nlohmann::json());
  if (stored != signature) {
    throw Error(path_.string() + " holds results of a different setup (" + signature_difference(stored, signature) +
                "); use another output directory or move it away");
  }
}

bool ResultStore::has(const std::string& key) const { return get(key).has_value(); }

void ResultStore::refresh() {
  FileLock lock = lock_store(path_);
  reload_points();
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
  FileLock lock = lock_store(path_);
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

std::optional<FileLock> ResultStore::claim(const std::string& key) const {
  std::filesystem::create_directories(claims_dir(path_));
  return FileLock::try_acquire(claims_dir(path_) / claim_file_name(key));
}

bool ResultStore::write_outputs_once(const std::function<void()>& write) {
  const std::filesystem::path dir = claims_dir(path_);
  std::filesystem::create_directories(dir);
  FileLock turn = FileLock::acquire(dir / "outputs.lock");
  const std::filesystem::path written = dir / "outputs-written";
  auto digest_of_points = [this] {
    refresh();
    Fnv1a64 hash;
    hash.add(document_["points"].dump());
    return hash.hex();
  };
  if (std::filesystem::exists(written) && read_file(written) == digest_of_points()) return false;
  write();
  write_file_atomically(written, digest_of_points());
  return true;
}

void ResultStore::save() const { write_file_atomically(path_, document_.dump(2) + "\n"); }

}  // namespace whittle::experiments
