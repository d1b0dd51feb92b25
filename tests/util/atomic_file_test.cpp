// Atomic writes on a disk that fills up: the write fails with one line that
// names the target and the cause, the old content stays, and no temporary
// is left. The file size limit (EFBIG) stands in for a full disk everywhere;
// where this process may mount a tmpfs, a real full disk (ENOSPC) as well.
#include "util/atomic_file.h"

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>

#include "support/error_message.h"
#include "support/file_size_limit.h"
#include "support/temp_dir.h"
#include "util/temporaries.h"

namespace whittle {
namespace {

namespace fs = std::filesystem;
using test_support::error_message;
using test_support::FileSizeLimit;
using test_support::TempDir;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Everything in `dir` and below that is a temporary of an atomic write.
std::vector<fs::path> temporaries_in(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (parse_temporary_name(entry.path().filename().string())) found.push_back(entry.path());
  }
  return found;
}

TEST(AtomicFile, AWriteThatDoesNotFitLeavesTheOldFile) {
  TempDir dir;
  const fs::path file = dir / "results.json";
  write_file_atomically(file, "old");
  std::string message;
  {
    FileSizeLimit limit(4096);
    message = error_message([&] { write_file_atomically(file, std::string(10000, 'x')); });
  }
  EXPECT_EQ(message, "cannot write " + file.string() + ": File too large");
  EXPECT_EQ(read_file(file), "old");
  EXPECT_TRUE(temporaries_in(dir.path()).empty());
}

TEST(AtomicFile, AFolderThatDoesNotFitLeavesTheOldOneAndNamesItsOwnPath) {
  TempDir dir;
  const fs::path model = dir / "models" / "qat-w4";
  write_directory_atomically(model, [](const fs::path& staging) { write_file_atomically(staging / "weights", "old"); });
  std::string message;
  {
    FileSizeLimit limit(4096);
    message = error_message([&] {
      write_directory_atomically(model, [](const fs::path& staging) {
        write_file_atomically(staging / "config.json", "{}");
        write_file_atomically(staging / "weights", std::string(10000, 'x'));
      });
    });
  }
  EXPECT_EQ(message, "cannot write " + (model / "weights").string() + ": File too large");
  EXPECT_EQ(read_file(model / "weights"), "old");
  EXPECT_FALSE(fs::exists(model / "config.json"));
  EXPECT_TRUE(temporaries_in(dir.path()).empty());
}

TEST(AtomicFile, AFolderIsReplacedWhole) {
  TempDir dir;
  const fs::path model = dir / "model";
  write_directory_atomically(model, [](const fs::path& staging) { write_file_atomically(staging / "old.bin", "1"); });
  write_directory_atomically(model, [](const fs::path& staging) { write_file_atomically(staging / "new.bin", "2"); });
  EXPECT_FALSE(fs::exists(model / "old.bin"));
  EXPECT_EQ(read_file(model / "new.bin"), "2");
  EXPECT_TRUE(temporaries_in(dir.path()).empty());
}

TEST(AtomicFile, AFolderIsRemovedUnderATemporaryName) {
  TempDir dir;
  write_directory_atomically(dir / "resume", [](const fs::path& staging) { write_file_atomically(staging / "a", "1"); });
  remove_directory_atomically(dir / "resume");
  EXPECT_FALSE(fs::exists(dir / "resume"));
  EXPECT_TRUE(fs::is_empty(dir.path()));
  remove_directory_atomically(dir / "resume");  // nothing to remove: no error
}

// A tmpfs of `bytes` mounted on `dir` in a mount namespace of this thread
// alone; empty when this process may not mount, with the reason.
std::string mount_small_disk(const fs::path& dir, std::size_t bytes) {
  if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("making / private: ") + std::strerror(errno);
  }
  const std::string size = "size=" + std::to_string(bytes);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, size.c_str()) != 0) return std::string("mount -t tmpfs: ") + std::strerror(errno);
  return "";
}

TEST(AtomicFile, AFullDiskFailsWithNoSpaceLeftAndKeepsTheOldFile) {
  TempDir dir;
  const fs::path disk = dir / "disk";
  fs::create_directories(disk);
  if (std::string refused = mount_small_disk(disk, 64 * 1024); !refused.empty()) {
    GTEST_SKIP() << "mounting a tmpfs is not permitted here (" << refused
                 << "); AWriteThatDoesNotFitLeavesTheOldFile covers failed writes";
  }
  const fs::path file = disk / "results.json";
  write_file_atomically(file, "old");
  const std::string message = error_message([&] { write_file_atomically(file, std::string(256 * 1024, 'x')); });
  EXPECT_EQ(message, "cannot write " + file.string() + ": No space left on device");
  EXPECT_EQ(read_file(file), "old");
  EXPECT_TRUE(temporaries_in(disk).empty());
  ::umount2(disk.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace whittle
