#pragma once
#include <filesystem>
#include <optional>

namespace whittle {

// An exclusive advisory lock (flock) on a file, held while the object lives.
// The kernel drops it when the process ends, however it ends, so a lock left
// by a killed process never blocks the next one. On NFS, flock is carried by
// the lock manager, so processes on several machines sharing a directory see
// each other's locks.
class FileLock {
 public:
  // Waits until the lock is free. Creates the file (not its folder) if needed.
  static FileLock acquire(const std::filesystem::path& path);
  // The lock if no other process holds it; none otherwise, without waiting.
  static std::optional<FileLock> try_acquire(const std::filesystem::path& path);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int descriptor) : descriptor_(descriptor) {}
  int descriptor_ = -1;
};

}  // namespace whittle
