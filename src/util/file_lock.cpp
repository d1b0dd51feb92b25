#include "util/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "util/error.h"

namespace whittle {
namespace {

int open_lock_file(const std::filesystem::path& path) {
  int descriptor = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (descriptor < 0) throw Error("cannot open lock file " + path.string() + ": " + std::strerror(errno));
  return descriptor;
}

// Whether the lock was taken; false only when `wait` is false and another
// process holds it.
bool lock(int descriptor, bool wait, const std::filesystem::path& path) {
  const int operation = LOCK_EX | (wait ? 0 : LOCK_NB);
  while (::flock(descriptor, operation) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && !wait) return false;
    throw Error("cannot lock " + path.string() + ": " + std::strerror(errno));
  }
  return true;
}

}  // namespace

FileLock FileLock::acquire(const std::filesystem::path& path) {
  int descriptor = open_lock_file(path);
  try {
    lock(descriptor, /*wait=*/true, path);
  } catch (...) {
    ::close(descriptor);
    throw;
  }
  return FileLock(descriptor);
}

std::optional<FileLock> FileLock::try_acquire(const std::filesystem::path& path) {
  int descriptor = open_lock_file(path);
  bool locked = false;
  try {
    locked = lock(descriptor, /*wait=*/false, path);
  } catch (...) {
    ::close(descriptor);
    throw;
  }
  if (!locked) {
    ::close(descriptor);
    return std::nullopt;
  }
  return FileLock(descriptor);
}

FileLock::FileLock(FileLock&& other) noexcept : descriptor_(std::exchange(other.descriptor_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (descriptor_ >= 0) ::close(descriptor_);
    descriptor_ = std::exchange(other.descriptor_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (descriptor_ >= 0) ::close(descriptor_);
}

}  // namespace whittle
