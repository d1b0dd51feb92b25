#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "util/error.h"
#include "util/path_checks.h"

namespace whittle {
namespace fs = std::filesystem;

namespace {

std::string unique_suffix() {
  std::random_device device;
  return ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(device());
}

void sync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const fs::path& path, std::string_view content) {
  fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::create_directories(parent);
  fs::path temporary = path;
  temporary += unique_suffix();
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + temporary.string() + ": " + std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      fs::remove(temporary);
      throw Error("cannot write " + path.string() + ": disk full or I/O error");
    }
  }
  sync_path(temporary, O_RDONLY);
  fs::rename(temporary, path);
  sync_path(parent, O_RDONLY | O_DIRECTORY);
}

void write_directory_atomically(const fs::path& path,
                                const std::function<void(const fs::path&)>& fill) {
  fs::path target = fs::absolute(path);
  fs::create_directories(target.parent_path());
  fs::path staging = target;
  staging += unique_suffix();
  fs::create_directories(staging);
  try {
    fill(staging);
  } catch (...) {
    fs::remove_all(staging);
    throw;
  }
  for (const auto& entry : fs::directory_iterator(staging)) sync_path(entry.path(), O_RDONLY);
  // rename() cannot replace a non-empty directory: move the old one aside first.
  fs::path old = target;
  old += ".old" + unique_suffix();
  bool had_old = fs::exists(target);
  if (had_old) fs::rename(target, old);
  fs::rename(staging, target);
  if (had_old) fs::remove_all(old);
  sync_path(target.parent_path(), O_RDONLY | O_DIRECTORY);
}

std::string read_file(const fs::path& path) {
  // A FIFO without a writer would block here for ever, a device read without end.
  if (fs::exists(path) && !fs::is_regular_file(path)) {
    throw Error("cannot read " + path.string() + ": it is " + describe_path_kind(path) + ", not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace whittle
