#include "util/path_checks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/error_message.h"
#include "support/temp_dir.h"
#include "util/atomic_file.h"

namespace whittle {
namespace {

namespace fs = std::filesystem;
using test_support::error_message;
using test_support::TempDir;

TEST(PathChecks, SayWhatThePathIsWhenItIsNotWhatWasAskedFor) {
  TempDir dir;
  write_file_atomically(dir / "file.txt", "x");
  fs::create_directories(dir / "folder");
  EXPECT_NO_THROW(require_regular_file(dir / "file.txt", "config"));
  EXPECT_NO_THROW(require_directory(dir / "folder", "checkpoint"));
  EXPECT_EQ(error_message([&] { require_regular_file(dir / "missing", "config"); }),
            "config " + (dir / "missing").string() + " does not exist");
  EXPECT_EQ(error_message([&] { require_regular_file(dir / "folder", "config"); }),
            "config " + (dir / "folder").string() + " is a folder, not a file");
  EXPECT_EQ(error_message([&] { require_directory(dir / "file.txt", "checkpoint"); }),
            "checkpoint " + (dir / "file.txt").string() + " is a file, not a folder");
  EXPECT_EQ(error_message([] { require_regular_file("/dev/null", "config"); }),
            "config /dev/null is a character device, not a file");
}

// Reading a FIFO with no writer would block for ever.
TEST(PathChecks, ReadFileRefusesAFifoInsteadOfWaitingOnIt) {
  TempDir dir;
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(describe_path_kind(fifo), "a FIFO");
  EXPECT_EQ(error_message([&] { read_file(fifo); }), "cannot read " + fifo.string() + ": it is a FIFO, not a file");
  EXPECT_EQ(error_message([&] { require_regular_file(fifo, "config"); }), "config " + fifo.string() + " is a FIFO, not a file");
}

}  // namespace
}  // namespace whittle
