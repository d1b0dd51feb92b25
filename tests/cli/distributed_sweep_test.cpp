// A sweep shared by several processes: launched by mpirun or as --shard
// processes, it stores the results of a serial run, runs every point once,
// and survives a process killed mid-point.
#include <gtest/gtest.h>

#include <signal.h>

#include <map>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"
#include "cli/stored_results.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kMpirun = "/usr/bin/mpirun";
const RunOptions kGenerous{.timeout = std::chrono::seconds(300)};

// The quantization sweep over two widths on the tiny fixtures, each QAT point
// long enough (many epochs) for a process to be killed in its middle.
std::vector<std::string> sweep_command(const TempDir& dir, const std::string& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> command = {WHITTLE_BINARY, "--threads", "1", "sweep", "quant",
                                      "--from",       (dir / "base").string(),
                                      "--out",        (dir / out).string(),
                                      "--data",       imdb_fixture().string(),
                                      "--cache-dir",  (dir / "cache").string(),
                                      "--max-length", "64",
                                      "--widths",     "4,8",
                                      "--qat-epochs", "12"};
  command.insert(command.end(), extra.begin(), extra.end());
  return command;
}

// How often each point was started, from the "== <key>" lines of the logs.
std::map<std::string, int> started_points(const std::string& log) {
  std::map<std::string, int> starts;
  static const std::regex start_line(R"((^|\n)== (\S+))");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), start_line); it != std::sregex_iterator(); ++it) {
    ++starts[(*it)[2]];
  }
  return starts;
}

class ShardedSweep : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_tiny_checkpoint(*dir_ / "base");
    RunResult serial = finish_run(start_program(sweep_command(*dir_, "serial"), *dir_, kGenerous));
    ASSERT_EQ(serial.exit_code, 0) << serial.describe();
    serial_ = new std::map<std::string, json>(values_by_key(*dir_ / "serial" / "results.json"));
    ASSERT_EQ(serial_->size(), 5u) << "baseline, PTQ and QAT at two widths";
  }
  static void TearDownTestSuite() {
    delete serial_;
    delete dir_;
  }

  static void expect_same_results(const std::map<std::string, json>& results) {
    EXPECT_EQ(results.size(), serial_->size());
    for (const auto& [key, value] : *serial_) {
      auto found = results.find(key);
      ASSERT_NE(found, results.end()) << key << " is missing";
      EXPECT_EQ(found->second, value) << key << " differs from the serial run";
    }
  }

  static TempDir* dir_;
  static std::map<std::string, json>* serial_;
};

TempDir* ShardedSweep::dir_ = nullptr;
std::map<std::string, json>* ShardedSweep::serial_ = nullptr;

TEST_F(ShardedSweep, MpirunStoresTheSerialResultsRunningEachPointOnce) {
  ASSERT_NE(serial_, nullptr);
  ASSERT_TRUE(fs::exists(kMpirun)) << "mpirun is missing: scripts/setup.sh installs openmpi-bin";
  // Each rank's output in a file of its own: mpirun's merged stream may mix
  // the ranks' lines.
  const fs::path rank_logs = *dir_ / "mpi-logs";
  std::vector<std::string> command = {kMpirun,     "-np",  "2", "--oversubscribe", "--allow-run-as-root",
                                      "--bind-to", "none", "--output-filename", rank_logs.string()};
  std::vector<std::string> sweep = sweep_command(*dir_, "mpi");
  command.insert(command.end(), sweep.begin(), sweep.end());
  RunResult run = finish_run(start_program(command, *dir_, {.timeout = std::chrono::seconds(300), .name = "mpi"}));
  ASSERT_EQ(run.exit_code, 0) << run.describe();

  std::string logs;
  for (const auto& entry : fs::recursive_directory_iterator(rank_logs)) {
    if (entry.path().filename() == "stderr") logs += read_text(entry.path());
  }
  for (const char* shard : {"shard 0 of 2", "shard 1 of 2"}) {
    EXPECT_NE(logs.find(std::string(shard) + " (OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE)"), std::string::npos) << logs;
  }
  std::map<std::string, int> counts;
  expect_same_results(values_by_key(*dir_ / "mpi" / "results.json", &counts));
  std::map<std::string, int> starts = started_points(logs);
  EXPECT_EQ(starts.size(), serial_->size()) << logs;
  for (const auto& [key, value] : *serial_) {
    EXPECT_EQ(counts[key], 1) << key;
    EXPECT_EQ(starts[key], 1) << key << " started " << starts[key] << " times";
  }
  EXPECT_TRUE(fs::exists(*dir_ / "mpi" / "quantization.png"));
  EXPECT_TRUE(fs::exists(*dir_ / "mpi" / "models" / "best-qat"));
}

TEST_F(ShardedSweep, AKilledShardLosesNothingAndTheNextRunFinishes) {
  ASSERT_NE(serial_, nullptr);
  // Shard 1 starts alone and is killed once it runs a QAT point of its own
  // (its points come first: ptq/w4, then qat/w4); shard 0 starts meanwhile.
  StartedRun second = start_program(sweep_command(*dir_, "killed", {"--shard", "1/2"}), *dir_,
                                    {.timeout = std::chrono::seconds(300), .name = "shard1"});
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (stderr_so_far(second).find("== qat/") == std::string::npos && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  StartedRun first = start_program(sweep_command(*dir_, "killed", {"--shard", "0/2"}), *dir_,
                                   {.timeout = std::chrono::seconds(300), .name = "shard0"});
  ::kill(second.pid, SIGKILL);
  RunResult killed = finish_run(second);
  EXPECT_EQ(killed.signal_number, SIGKILL) << killed.describe();
  RunResult survivor = finish_run(first);
  ASSERT_EQ(survivor.exit_code, 0) << survivor.describe();

  RunResult resumed = finish_run(start_program(sweep_command(*dir_, "killed"), *dir_, kGenerous));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_NE(resumed.out.find("\"complete\":true"), std::string::npos) << resumed.out;
  std::map<std::string, int> counts;
  expect_same_results(values_by_key(*dir_ / "killed" / "results.json", &counts));
  for (const auto& [key, count] : counts) EXPECT_EQ(count, 1) << key;
}

}  // namespace
}  // namespace whittle::cli_testing
