// `whittle finetune` on two ranks: launched by mpirun it saves once and
// reports the global batch's figures; a rank killed mid-run makes the other
// stop with an error within the collective timeout instead of hanging.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;

std::string free_port(int offset) { return std::to_string(21000 + (::getpid() * 13 + offset) % 20000); }

std::vector<std::string> finetune(const TempDir& dir, const std::string& out, int epochs) {
  return {WHITTLE_BINARY, "--threads", "1", "finetune", "--from", (dir / "base").string(), "--out", (dir / out).string(),
          "--data", imdb_fixture().string(), "--cache-dir", (dir / "cache").string(), "--max-length", "64",
          "--epochs", std::to_string(epochs)};
}

int count(const std::string& text, const std::string& part) {
  int found = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++found;
  return found;
}

TEST(DataParallelCommand, MpirunTrainsOnTwoRanksAndSavesOnce) {
  ASSERT_TRUE(fs::exists("/usr/bin/mpirun")) << "mpirun is missing: scripts/setup.sh installs openmpi-bin";
  TempDir dir;
  write_tiny_checkpoint(dir / "base");
  std::vector<std::string> command = {"/usr/bin/mpirun", "-np", "2", "--oversubscribe", "--allow-run-as-root",
                                      "--bind-to", "none", "-x", "MASTER_PORT=" + free_port(0)};
  for (const auto& argument : finetune(dir, "model", 2)) command.push_back(argument);
  RunResult run = finish_run(start_program(command, dir, {.timeout = std::chrono::seconds(120), .name = "mpi"}));
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(count(run.out, "\"ranks\":2"), 2) << "one line per epoch, from rank 0 only: " << run.out;
  EXPECT_EQ(count(run.err, "saved "), 1) << run.err;
  EXPECT_EQ(count(run.err, "data-parallel: rank 1 of 2 (OMPI_COMM_WORLD_RANK"), 1) << run.err;
  EXPECT_TRUE(fs::exists(dir / "model" / "model.safetensors"));
}

// A rank killed (its connections close) or stopped (it stalls, silent) mid-run.
class RankLost : public ::testing::TestWithParam<int> {};

TEST_P(RankLost, TheOtherRankStopsWithAnError) {
  const int signal_sent = GetParam();
  TempDir dir;
  write_tiny_checkpoint(dir / "base");
  auto rank = [&](int index) {
    return start_program(finetune(dir, "model", 100000), dir,
                         {.timeout = std::chrono::seconds(120),
                          .name = "rank" + std::to_string(index),
                          .environment = {{"RANK", std::to_string(index)}, {"WORLD_SIZE", "2"},
                                          {"MASTER_PORT", free_port(1 + signal_sent)},
                                          {"WHITTLE_COLLECTIVE_TIMEOUT", "8"}}});
  };
  StartedRun first = rank(0);
  StartedRun second = rank(1);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (stderr_so_far(second).find("train epoch 3/") == std::string::npos &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(second.pid, signal_sent);
  const auto lost_at = std::chrono::steady_clock::now();
  RunResult survivor = finish_run(first);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - lost_at).count();
  ::kill(second.pid, SIGKILL);
  finish_run(second);
  expect_one_line_error(survivor, {"data-parallel", "failed on rank 0"});
  EXPECT_LT(seconds, 30.0) << "bounded by the collective timeout (8 s)";
  EXPECT_FALSE(fs::exists(dir / "model" / "model.safetensors")) << "nothing saved from a broken run";
}

INSTANTIATE_TEST_SUITE_P(KilledOrStalled, RankLost, ::testing::Values(SIGKILL, SIGSTOP));

}  // namespace
}  // namespace whittle::cli_testing
