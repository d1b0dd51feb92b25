// The advisory lock behind sweep claims: exclusive while held, free once
// released, and free again when its holder dies.
#include "util/file_lock.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "support/temp_dir.h"

namespace whittle {
namespace {

TEST(FileLock, ExclusiveUntilReleased) {
  test_support::TempDir dir;
  const auto path = dir / "point.lock";
  {
    FileLock held = FileLock::acquire(path);
    EXPECT_FALSE(FileLock::try_acquire(path).has_value());
  }
  EXPECT_TRUE(FileLock::try_acquire(path).has_value());
}

TEST(FileLock, AKilledHolderLeavesItFree) {
  test_support::TempDir dir;
  const auto path = dir / "point.lock";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    FileLock held = FileLock::acquire(path);
    ::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_FALSE(FileLock::try_acquire(path).has_value()) << "the child holds it";
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(FileLock::try_acquire(path).has_value());
  ::close(ready[0]);
  ::close(ready[1]);
}

}  // namespace
}  // namespace whittle
