// Sweeps, the lab and pretraining killed with SIGKILL at random moments and
// as they write results and checkpoints, and resumed each time: the results
// equal an uninterrupted run's, no point is lost or stored twice, and
// nothing a killed process left stands in the way of the next run.
// KILL_ANYWHERE_KILLS sets every test's kill count, KILL_ANYWHERE_SEED
// repeats a plan, KILL_ANYWHERE_REPORT collects where the kills landed
// (scripts/kill_anywhere.sh).
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"
#include "cli/kill_harness.h"
#include "cli/stored_results.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Trigger = KillMoment::Trigger;

constexpr const char* kMpirun = "/usr/bin/mpirun";

std::vector<std::string> whittle_command(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {WHITTLE_BINARY, "--threads", "1"});
  return arguments;
}

std::vector<std::string> quant_sweep(const TempDir& dir, const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> command = whittle_command(
      {"sweep", "quant", "--from", (dir / "base").string(), "--out", out.string(), "--data", imdb_fixture().string(),
       "--cache-dir", (dir / "cache").string(), "--max-length", "64", "--widths", "4,8", "--qat-epochs", "2"});
  command.insert(command.end(), extra.begin(), extra.end());
  return command;
}

std::vector<std::string> prune_sweep(const TempDir& dir, const fs::path& out) {
  return whittle_command({"sweep", "prune", "--from", (dir / "base").string(), "--out", out.string(), "--data",
                          imdb_fixture().string(), "--cache-dir", (dir / "cache").string(), "--max-length", "64",
                          "--sparsities", "0.3,0.6", "--epochs", "2"});
}

std::string tiny_lab_config() {
  return "title = \"killed lab\"\n"
         "[data]\nsource = \"" + imdb_fixture().string() + "\"\nmax_length = 64\n"
         "[base]\nmodel = \"\"\nconfig = \"" + tiny_config_fixture().string() + "\"\n"
         "[base.training]\nlearning_rate = 1e-3\nbatch_size = 4\n"
         "[lora]\nrank = 2\n"
         "[quantize]\nwidths = [4, 8]\n"
         "[prune]\nsparsities = [0.5]\n";
}

std::vector<std::string> lab(const TempDir& dir, const fs::path& out) {
  return whittle_command(
      {"lab", "--config", (dir / "lab.toml").string(), "--out", out.string(), "--cache-dir", (dir / "cache").string()});
}

std::vector<std::string> pretrain(const TempDir& dir, const fs::path& out) {
  // A resume state after nearly every step (0.0001 minutes).
  return whittle_command({"pretrain", "--config", tiny_config_fixture().string(), "--data", imdb_fixture().string(),
                          "--tokenizer", tokenizer_fixture().string(), "--out", out.string(), "--cache-dir",
                          (dir / "cache").string(), "--max-length", "32", "--held-out", "0.2", "--steps", "24",
                          "--batch-size", "2", "--checkpoint-minutes", "0.0001"});
}

// A run's results in a form two runs can be compared in.
using Results = std::map<std::string, json>;
using ResultsReader = std::function<Results(const fs::path& out)>;

Results sweep_results(const fs::path& out) {
  std::map<std::string, int> counts;
  Results results = values_by_key(out / "results.json", &counts);
  for (const auto& [key, count] : counts) results["stored " + key] = count;
  return results;
}

// Paths inside the run folder, written with the folder's own name, differ
// between two runs only by it.
json with_run_folder_named(json value, const std::string& folder) {
  if (value.is_string()) {
    std::string text = value.get<std::string>();
    for (std::size_t at = text.find(folder); at != std::string::npos; at = text.find(folder)) {
      text.replace(at, folder.size(), "<run>");
    }
    return text;
  }
  if (value.is_structured()) {
    for (auto& element : value) element = with_run_folder_named(element, folder);
  }
  return value;
}

Results lab_results(const fs::path& out) {
  Results results;
  for (const char* sweep : {"quantize", "prune"}) {
    for (const auto& [key, value] : sweep_results(out / sweep)) results[std::string(sweep) + " " + key] = value;
  }
  json stages = json::parse(read_text(out / "stages.json"));
  for (const auto& [stage, entry] : stages.items()) {
    if (stage == "report") continue;  // redrawn by every run: when it last ran
    results["stage " + stage] = with_run_folder_named(without_timings(entry.at("summary")), out.string());
  }
  results["report written"] = fs::exists(out / "report.md") && fs::exists(out / "report.html");
  return results;
}

Results pretrain_results(const fs::path& out) {
  json record = json::parse(read_text(out / "whittle.json")).at("pretrain");
  // What the last call did (its first step, its mean loss) differs by design.
  record.erase("last_run");
  return {{"record", without_timings(record)},
          {"weights digest", std::hash<std::string>{}(read_text(out / "model.safetensors"))},
          {"resume state left", fs::exists(out / "resume")}};
}

void expect_same(const Results& expected, const Results& actual, const std::string& round) {
  EXPECT_EQ(actual.size(), expected.size()) << round;
  for (const auto& [key, value] : expected) {
    auto found = actual.find(key);
    ASSERT_NE(found, actual.end()) << round << ": " << key << " is missing";
    EXPECT_EQ(found->second, value) << round << ": " << key << " differs from the uninterrupted run";
  }
}

class KillAnywhere : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_checkpoint(dir_ / "base");
    write_text(dir_ / "lab.toml", tiny_lab_config());
  }

  // The uninterrupted run: its results, and its wall time (the longest
  // random delay before a kill).
  Results reference(const std::vector<std::string>& command, const fs::path& out, const ResultsReader& read) {
    const auto start = std::chrono::steady_clock::now();
    RunResult run = finish_run(start_program(command, dir_, {.timeout = std::chrono::seconds(300), .name = "reference"}));
    reference_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    EXPECT_EQ(run.exit_code, 0) << run.describe();
    return read(out);
  }

  // Runs `commands` (sharing `out`) again and again from an empty `out`,
  // killing them until `kills` kills have landed; after each round the
  // results must equal `expected` and no temporary may be left.
  void kill_in_rounds(const std::string& test, const std::vector<KilledCommand>& commands, const fs::path& out,
                      const Results& expected, const ResultsReader& read, int kills,
                      std::vector<KillMoment> first_moments = {},
                      std::vector<Trigger> triggers = KillPlan::every_trigger()) {
    KillPlan plan(kill_plan_seed(), reference_time_, std::move(triggers));
    plan.begin_with(std::move(first_moments));
    // A round ends without a kill when its process finishes before the
    // armed moment (its last writes were fewer than the n drawn).
    const int most_rounds = 2 * kills + 2;
    std::vector<KillRecord> landed;
    const auto start = std::chrono::steady_clock::now();
    int round = 0;
    for (; static_cast<int>(landed.size()) < kills && round < most_rounds; ++round) {
      fs::remove_all(out);
      KillRunOptions options{commands, out, kills - static_cast<int>(landed.size())};
      KillRunOutcome outcome = run_with_kills(options, plan, dir_);
      landed.insert(landed.end(), outcome.kills.begin(), outcome.kills.end());
      const std::string name = test + " round " + std::to_string(round + 1);
      ASSERT_TRUE(outcome.failure.empty()) << name << ": " << outcome.failure << "\n" << summarize(landed);
      std::vector<fs::path> left = temporaries_under(out);
      EXPECT_TRUE(left.empty()) << name << ": " << left.size() << " temporaries left, e.g. " << left.front();
      ASSERT_NO_FATAL_FAILURE(expect_same(expected, read(out), name));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report_kills(test, landed, round, seconds);
    EXPECT_GE(static_cast<int>(landed.size()), kills) << summarize(landed);
  }

  TempDir dir_;
  std::chrono::milliseconds reference_time_{1000};
};

TEST_F(KillAnywhere, QuantizationSweep) {
  const Results expected = reference(quant_sweep(dir_, dir_ / "reference"), dir_ / "reference", sweep_results);
  ASSERT_EQ(expected.size(), 10u) << "baseline, PTQ and QAT at two widths, each stored once";
  // The first kill lands as the first QAT model's weights are written.
  kill_in_rounds("quantization sweep", {{"sweep", quant_sweep(dir_, dir_ / "killed")}}, dir_ / "killed", expected,
                 sweep_results, planned_kills(20), {{Trigger::checkpoint_write, {}, 3}});
}

TEST_F(KillAnywhere, PruningSweep) {
  const Results expected = reference(prune_sweep(dir_, dir_ / "reference"), dir_ / "reference", sweep_results);
  ASSERT_EQ(expected.size(), 10u) << "baseline and two methods at two sparsities, each stored once";
  // The pruning sweep saves no model: no checkpoint writes to wait for.
  kill_in_rounds("pruning sweep", {{"sweep", prune_sweep(dir_, dir_ / "killed")}}, dir_ / "killed", expected,
                 sweep_results, planned_kills(5), {},
                 {Trigger::delay, Trigger::result_write, Trigger::delay, Trigger::any_write});
}

TEST_F(KillAnywhere, TwoShardsSharingOneStore) {
  const Results expected = reference(quant_sweep(dir_, dir_ / "reference"), dir_ / "reference", sweep_results);
  const fs::path out = dir_ / "shared";
  kill_in_rounds("two --shard processes", {{"shard0", quant_sweep(dir_, out, {"--shard", "0/2"})},
                                           {"shard1", quant_sweep(dir_, out, {"--shard", "1/2"})}},
                 out, expected, sweep_results, planned_kills(5));
}

TEST_F(KillAnywhere, MpirunSharingOneStore) {
  ASSERT_TRUE(fs::exists(kMpirun)) << "mpirun is missing: scripts/setup.sh installs openmpi-bin";
  const Results expected = reference(quant_sweep(dir_, dir_ / "reference"), dir_ / "reference", sweep_results);
  const fs::path out = dir_ / "mpi";
  std::vector<std::string> command = {kMpirun,     "-np",  "2", "--oversubscribe", "--allow-run-as-root",
                                      "--bind-to", "none", "--output-filename", (dir_ / "mpi-logs").string()};
  for (const std::string& argument : quant_sweep(dir_, out)) command.push_back(argument);
  // Each restart starts two ranks and MPI: a kill costs more here.
  reference_time_ *= 2;
  kill_in_rounds("mpirun -np 2", {{"mpirun", command, /*launcher=*/true}}, out, expected, sweep_results,
                 planned_kills(2));
}

TEST_F(KillAnywhere, Lab) {
  const Results expected = reference(lab(dir_, dir_ / "reference"), dir_ / "reference", lab_results);
  ASSERT_FALSE(HasFatalFailure());
  kill_in_rounds("lab", {{"lab", lab(dir_, dir_ / "killed")}}, dir_ / "killed", expected, lab_results,
                 planned_kills(5));
}

TEST_F(KillAnywhere, Pretraining) {
  const Results expected = reference(pretrain(dir_, dir_ / "reference"), dir_ / "reference", pretrain_results);
  ASSERT_FALSE(HasFatalFailure());
  // The first kill lands in the first save of the resume state, whose
  // temporary folder used to make the next start refuse the --out folder.
  kill_in_rounds("pretraining", {{"pretrain", pretrain(dir_, dir_ / "killed")}}, dir_ / "killed", expected,
                 pretrain_results, planned_kills(4),
                 {{Trigger::checkpoint_write, {}, 1}, {Trigger::checkpoint_write, {}, 3}});
}

}  // namespace
}  // namespace whittle::cli_testing
