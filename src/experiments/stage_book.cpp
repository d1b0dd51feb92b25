#include "experiments/stage_book.h"

#include <chrono>
#include <ctime>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/file_lock.h"

namespace whittle::experiments {
namespace {

std::string utc_now() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

}  // namespace

StageBook::StageBook(std::filesystem::path path) : path_(std::move(path)) { refresh(); }

void StageBook::refresh() {
  if (!std::filesystem::exists(path_)) return;
  try {
    entries_ = nlohmann::json::parse(read_file(path_));
  } catch (const nlohmann::json::exception& error) {
    throw Error(path_.string() + ": not a valid stage record (" + error.what() + "); delete it to rerun every stage");
  }
  if (!entries_.is_object()) throw Error(path_.string() + ": not a valid stage record; delete it to rerun every stage");
}

bool StageBook::done(const std::string& stage) const { return entries_.contains(stage); }

std::optional<nlohmann::json> StageBook::summary(const std::string& stage) const {
  if (!done(stage)) return std::nullopt;
  return entries_.at(stage).value("summary", nlohmann::json::object());
}

void StageBook::record(const std::string& stage, const nlohmann::json& summary, double seconds) {
  FileLock lock = FileLock::acquire(path_.string() + ".lock");
  refresh();
  entries_[stage] = {{"seconds", seconds}, {"finished", utc_now()}, {"summary", summary}};
  write_file_atomically(path_, entries_.dump(2) + "\n");
}

}  // namespace whittle::experiments
