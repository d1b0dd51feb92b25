// Programs whittle runs (gnuplot): their output and exit code, and their end
// when whittle is killed, so that none writes on into a folder afterwards.
#include "util/child_process.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/temp_dir.h"

namespace whittle {
namespace {

namespace fs = std::filesystem;

TEST(ChildProcess, ReportsOutputAndExitCode) {
  ProgramOutcome run = run_program({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.output, "out\nerr\n");
  EXPECT_EQ(run_program({"whittle-no-such-program"}).exit_code, 127);
}

TEST(ChildProcess, AProgramEndsWithTheProcessThatRanIt) {
  test_support::TempDir dir;
  const fs::path started = dir / "started", late = dir / "late";
  const std::string script = "touch '" + started.string() + "'; sleep 1; touch '" + late.string() + "'";
  const pid_t runner = ::fork();
  ASSERT_GE(runner, 0);
  if (runner == 0) {
    run_program({"sh", "-c", script});
    ::_exit(0);
  }
  while (!fs::exists(started)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(runner, SIGKILL);
  ::waitpid(runner, nullptr, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(fs::exists(late)) << "the program went on after the process that ran it was killed";
}

}  // namespace
}  // namespace whittle
