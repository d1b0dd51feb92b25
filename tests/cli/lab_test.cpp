// `whittle lab` end to end on the tiny fixtures: every stage runs, the report
// is written, a second run skips every finished stage, and a run directory
// refuses a different config.
#include <gtest/gtest.h>

#include <initializer_list>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A lab small enough for seconds: a 1-layer BERT of width 16 trained from a
// random initialisation, two widths, one sparsity.
std::string tiny_lab_config() {
  return "title = \"tiny lab\"\n"
         "[data]\nsource = \"" + imdb_fixture().string() + "\"\nmax_length = 64\n"
         "[base]\nmodel = \"\"\nconfig = \"" + tiny_config_fixture().string() + "\"\n"
         "[base.training]\nlearning_rate = 1e-3\nbatch_size = 4\n"
         "[lora]\nrank = 2\n"
         "[quantize]\nwidths = [4, 8]\n"
         "[prune]\nsparsities = [0.5]\n"
         "[profiles.smaller]\nquantize.widths = [8]\nprune.training.epochs = 2\n";
}

std::vector<std::string> lab_arguments(const TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> arguments = {"lab",       "--config", (dir / "lab.toml").string(), "--out",
                                        (dir / "run").string(), "--cache-dir", (dir / "cache").string()};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return arguments;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(LabCommand, RunsEveryStageThenSkipsThemOnResume) {
  TempDir dir;
  write_text(dir / "lab.toml", tiny_lab_config());
  const RunOptions generous{.timeout = std::chrono::seconds(120)};
  RunResult first = run_whittle(lab_arguments(dir), dir, generous);
  ASSERT_EQ(first.exit_code, 0) << first.describe();

  json stages = json::parse(read_text(dir / "run" / "stages.json"));
  for (const char* stage : {"base", "lora", "quantize", "prune", "report"}) EXPECT_TRUE(stages.contains(stage)) << stage;
  EXPECT_GT(stages.at("lora").at("summary").at("parameters").at("trainable_parameters").get<int64_t>(), 0);
  EXPECT_EQ(stages.at("quantize").at("summary").at("best_qat_model").get<std::string>(),
            (dir / "run" / "quantize" / "models" / "best-qat").string());
  json prune = json::parse(read_text(dir / "run" / "prune" / "results.json"));
  EXPECT_EQ(prune.at("points").size(), 3u);  // baseline, random/0.5, l1-norm/0.5
  for (const auto& point : prune.at("points")) {
    EXPECT_GT(point.at("value").at("size").at("linear_bits").get<int64_t>(), 0) << "measured while the sweep ran";
    EXPECT_GT(point.at("timing").at("wall_seconds").get<double>(), 0.0) << point.at("key");
  }

  std::string markdown = read_text(dir / "run" / "report.md");
  std::string html = read_text(dir / "run" / "report.html");
  EXPECT_TRUE(contains(markdown, "tiny lab"));
  EXPECT_TRUE(contains(markdown, "| wall time, all runs | training and evaluation, all runs |"));
  EXPECT_TRUE(std::regex_search(markdown, std::regex(R"(\| prune \| ran \| [0-9.]+ s[^|]*\| [0-9.]+ s[^|]*\| [0-9.]+ s)")))
      << "the pruning stage's wall time over all runs and its points' recorded times";
  EXPECT_TRUE(contains(html, "<svg"));
  EXPECT_FALSE(contains(html, "src=\"http"));
  for (const char* figure : {"quantize/quantization.png", "prune/pruning.png", "size.png"}) {
    EXPECT_TRUE(fs::is_regular_file(dir / "run" / figure)) << figure;
  }
  EXPECT_TRUE(contains(read_text(dir / "run" / "lab.log"), "[lab 1/5] base"));

  RunResult second = run_whittle(lab_arguments(dir), dir, generous);
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  for (const char* stage : {"base", "lora", "quantize", "prune"}) {
    EXPECT_TRUE(contains(second.err, std::string("] ") + stage + ": done in an earlier run, skipped")) << second.err;
  }
  json again = json::parse(read_text(dir / "run" / "stages.json"));
  EXPECT_EQ(again.at("lora"), stages.at("lora"));
}

TEST(LabCommand, StopsAtItsTimeLimitWithExitCode75AndResumes) {
  TempDir dir;
  write_text(dir / "lab.toml", tiny_lab_config());
  const RunOptions generous{.timeout = std::chrono::seconds(120)};
  // Three milliseconds run out while the data loads: no stage starts.
  RunResult stopped = run_whittle(lab_arguments(dir, {"--time-limit", "0.00005"}), dir, generous);
  EXPECT_EQ(stopped.exit_code, 75) << stopped.describe();
  ASSERT_FALSE(stopped.err_lines.empty());
  EXPECT_TRUE(contains(stopped.err_lines.back(), "whittle: stopped: ")) << stopped.err;
  EXPECT_TRUE(contains(stopped.err_lines.back(), "run the same command again to resume")) << stopped.err;
  EXPECT_TRUE(contains(read_text(dir / "run" / "lab.log"), "whittle: stopped: ")) << "the log says why the run ended";
  EXPECT_FALSE(fs::exists(dir / "run" / "stages.json") &&
               json::parse(read_text(dir / "run" / "stages.json")).contains("lora"));

  RunResult resumed = run_whittle(lab_arguments(dir), dir, generous);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.describe();
}

TEST(LabCommand, BaseFromACheckpointCanRedrawItsTopAttention) {
  TempDir dir;
  write_tiny_checkpoint(dir / "pretrained");
  write_text(dir / "lab.toml", tiny_lab_config());
  const RunOptions generous{.timeout = std::chrono::seconds(120)};
  RunResult run = run_whittle(lab_arguments(dir, {"--profile", "smaller", "--set",
                                                  "base.model=\"" + (dir / "pretrained").string() + "\"", "--set",
                                                  "base.config=\"\"", "--set", "base.finetune=true", "--set",
                                                  "base.reinit_query_key=1"}),
                              dir, generous);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  json base = json::parse(read_text(dir / "run" / "base" / "model" / "whittle.json")).at("lab_base");
  EXPECT_EQ(base.at("from").get<std::string>(), (dir / "pretrained").string());
  EXPECT_EQ(base.at("reinitialised").size(), 4u) << base.dump();
  EXPECT_TRUE(contains(read_text(dir / "run" / "lab.log"), "query/key of the top 1 layer(s) drawn anew"));

  // The profile's pruning protocol: two epochs, each evaluated; a point's
  // accuracy is the highest of the evaluations, right after pruning included.
  json prune = json::parse(read_text(dir / "run" / "prune" / "results.json"));
  for (const auto& point : prune.at("points")) {
    if (point.at("key") == "baseline") continue;
    const json& value = point.at("value");
    ASSERT_EQ(value.at("epochs").size(), 2u) << point.at("key");
    double highest = value.at("after_pruning").at("accuracy").get<double>();
    for (const auto& epoch : value.at("epochs")) highest = std::max(highest, epoch.at("test").at("accuracy").get<double>());
    EXPECT_EQ(value.at("accuracy").get<double>(), highest) << point.at("key");
  }
  std::string markdown = read_text(dir / "run" / "report.md");
  EXPECT_TRUE(contains(markdown, "| method | sparsity | measured weight sparsity | after pruning | highest | final |"));
  EXPECT_TRUE(contains(markdown, "| pruning fine-tune, each point | 2 | 8 | 5e-05 |")) << markdown;
  EXPECT_TRUE(contains(markdown, "| QAT, each width | 1 | 8 | 5e-05 |")) << markdown;
  EXPECT_TRUE(contains(markdown, "tutorial_4_pruning.ipynb"));
}

TEST(LabCommand, MixedPrecisionStageRunsWhenEnabled) {
  TempDir dir;
  write_text(dir / "lab.toml", tiny_lab_config());
  const RunOptions generous{.timeout = std::chrono::seconds(180)};
  RunResult run = run_whittle(lab_arguments(dir, {"--profile", "smaller", "--set", "mixed.enabled=true", "--set",
                                                  "mixed.validation_size=2", "--set", "mixed.widths=[4, 8]", "--set",
                                                  "mixed.refine_evaluations=2", "--set", "mixed.front_points=1"}),
                              dir, generous);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  json stages = json::parse(read_text(dir / "run" / "stages.json"));
  ASSERT_TRUE(stages.contains("mixed")) << stages.dump();
  const json& summary = stages.at("mixed").at("summary");
  EXPECT_EQ(summary.at("config").get<std::string>(), (dir / "run" / "mixed" / "mixed-config.toml").string());
  EXPECT_GT(summary.at("average_bits").get<double>(), 0.0);
  for (const char* file : {"mixed-config.toml", "sensitivity.csv", "pareto.png", "summary.json"}) {
    EXPECT_TRUE(fs::is_regular_file(dir / "run" / "mixed" / file)) << file;
  }
  EXPECT_TRUE(contains(read_text(dir / "run" / "lab.log"), "[lab 5/6] mixed"));
  const std::string markdown = read_text(dir / "run" / "report.md");
  EXPECT_TRUE(contains(markdown, "Mixed precision (mixed/, docs/mixed-precision.md):")) << markdown;
  EXPECT_TRUE(contains(markdown, "mixed/pareto.png")) << markdown;
  const json signature = json::parse(read_text(dir / "run" / "mixed" / "results.json")).at("signature");
  EXPECT_EQ(signature.at("base_model").get<std::string>(), (dir / "run" / "lora" / "model").string());
}

TEST(LabCommand, TwoProcessesShareOneRunUnderMpirun) {
  ASSERT_TRUE(fs::exists("/usr/bin/mpirun")) << "mpirun is missing: scripts/setup.sh installs openmpi-bin";
  TempDir dir;
  write_text(dir / "lab.toml", tiny_lab_config());
  std::vector<std::string> command = {"/usr/bin/mpirun", "-np", "2", "--oversubscribe", "--allow-run-as-root",
                                      "--bind-to", "none", "--output-filename", (dir / "rank-logs").string(),
                                      WHITTLE_BINARY, "--threads", "1"};
  for (const auto& argument : lab_arguments(dir)) command.push_back(argument);
  RunResult run = finish_run(start_program(command, dir, {.timeout = std::chrono::seconds(180), .name = "mpi"}));
  ASSERT_EQ(run.exit_code, 0) << run.describe();

  json stages = json::parse(read_text(dir / "run" / "stages.json"));
  for (const char* stage : {"base", "lora", "quantize", "prune", "report"}) EXPECT_TRUE(stages.contains(stage)) << stage;
  for (const char* sweep : {"quantize", "prune"}) {
    json results = json::parse(read_text(dir / "run" / sweep / "results.json"));
    std::set<std::string> keys;
    for (const auto& point : results.at("points")) EXPECT_TRUE(keys.insert(point.at("key")).second) << point.at("key");
  }
  EXPECT_TRUE(fs::is_regular_file(dir / "run" / "report.md"));
  EXPECT_TRUE(contains(read_text(dir / "run" / "lab.log"), "[lab 5/5] report: finished")) << "shard 0 writes the report";
  EXPECT_TRUE(contains(read_text(dir / "run" / "lab.shard-1.log"), "report: left to shard 0"));
}

// Runs the smaller tiny lab, then resumes it as if it had been killed during
// pruning: `unrecorded` stages are missing from stages.json, and the last
// pruning point is lost. Returns the resumed run.
RunResult resume_after_kill_during_pruning(const TempDir& dir, std::initializer_list<const char*> unrecorded) {
  write_text(dir / "lab.toml", tiny_lab_config());
  const RunOptions generous{.timeout = std::chrono::seconds(120)};
  RunResult first = run_whittle(lab_arguments(dir, {"--profile", "smaller"}), dir, generous);
  EXPECT_EQ(first.exit_code, 0) << first.describe();
  json stages = json::parse(read_text(dir / "run" / "stages.json"));
  for (const char* stage : unrecorded) stages.erase(stage);
  write_text(dir / "run" / "stages.json", stages.dump());
  json prune = json::parse(read_text(dir / "run" / "prune" / "results.json"));
  prune["points"].erase(prune["points"].size() - 1);
  write_text(dir / "run" / "prune" / "results.json", prune.dump());
  return run_whittle(lab_arguments(dir, {"--profile", "smaller"}), dir, generous);
}

TEST(LabCommand, AKilledPruneStageResumesAlone) {
  TempDir dir;
  RunResult resumed = resume_after_kill_during_pruning(dir, {"prune"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_TRUE(contains(resumed.err, "quantize: done in an earlier run, skipped")) << resumed.err;
  EXPECT_TRUE(contains(resumed.err, "pruning sweep: 1 points to run")) << resumed.err;
  EXPECT_EQ(json::parse(read_text(dir / "run" / "prune" / "results.json")).at("points").size(), 3u);
}

TEST(LabCommand, AStageWhosePointsWereAllStoredDoesNotSetTheETA) {
  TempDir dir;
  // As if another process had finished every quantization point: that stage
  // is not recorded either, but its results are all there.
  RunResult resumed = resume_after_kill_during_pruning(dir, {"quantize", "prune"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_TRUE(contains(resumed.err, "quantize: finished in")) << resumed.err;
  // Its instant finish says nothing about the speed of the pruning to come.
  const std::string prune_line = "prune: random and L1-norm pruning sweep\n";
  ASSERT_TRUE(contains(resumed.err, prune_line)) << resumed.err;
  // Up to the pruning, no ETA: the report stage after it may give one, from
  // the pruning's own speed (on a loaded machine its point takes seconds).
  EXPECT_FALSE(contains(resumed.err.substr(0, resumed.err.find(prune_line)), "lab ETA")) << resumed.err;
}

// Every measured figure of a sweep's points: accuracies and losses, not timings.
json measured_figures(const fs::path& results) {
  json figures = json::object();
  const json document = json::parse(read_text(results));
  for (const auto& point : document.at("points")) {
    const json& value = point.at("value");
    json& entry = figures[point.at("key").get<std::string>()];
    entry["accuracy"] = value.at("accuracy");
    if (value.contains("loss")) entry["loss"] = value.at("loss");
    if (value.contains("test")) entry["test_loss"] = value.at("test").at("loss");
    if (value.contains("after_pruning")) entry["after_pruning_loss"] = value.at("after_pruning").at("loss");
    if (value.contains("epochs") && value.at("epochs").is_array()) {
      for (const auto& epoch : value.at("epochs")) entry["train_loss"].push_back(epoch.at("train_loss"));
    }
  }
  return figures;
}

TEST(LabCommand, SweepPointsRunTwoAtATimeWithTheSameResults) {
  TempDir dir;
  write_text(dir / "lab.toml", tiny_lab_config());
  const RunOptions generous{.timeout = std::chrono::seconds(120)};
  auto arguments_with = [&](const std::string& run, std::vector<std::string> extra) {
    std::vector<std::string> arguments = {"--threads", "1", "lab", "--config", (dir / "lab.toml").string(),
                                          "--out", (dir / run).string(), "--cache-dir", (dir / "cache").string()};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return arguments;
  };
  RunResult serial = run_whittle(arguments_with("serial", {}), dir, generous);
  ASSERT_EQ(serial.exit_code, 0) << serial.describe();
  // Two workers on 2 threads: one thread each, as the serial run had.
  std::vector<std::string> parallel_arguments = arguments_with("parallel", {"--workers", "2"});
  parallel_arguments[1] = "2";
  RunResult parallel = run_whittle(parallel_arguments, dir, generous);
  ASSERT_EQ(parallel.exit_code, 0) << parallel.describe();
  EXPECT_TRUE(contains(parallel.err, "pruning sweep: 2 points at a time, 1 thread each")) << parallel.err;
  EXPECT_TRUE(contains(parallel.err, "[random/s0.50] ")) << "a worker's lines carry its point";

  for (const char* sweep : {"quantize", "prune"}) {
    json expected = measured_figures(dir / "serial" / sweep / "results.json");
    json actual = measured_figures(dir / "parallel" / sweep / "results.json");
    EXPECT_GE(expected.size(), 3u) << sweep;
    EXPECT_EQ(actual, expected) << sweep;
  }
  RunResult refused = run_whittle(arguments_with("parallel", {"--workers", "0"}), dir);
  expect_usage_error(refused, {"--workers"});
}

TEST(LabCommand, ARunDirectoryRefusesAnotherConfig) {
  TempDir dir;
  write_text(dir / "lab.toml", tiny_lab_config());
  const RunOptions generous{.timeout = std::chrono::seconds(120)};
  ASSERT_EQ(run_whittle(lab_arguments(dir, {"--profile", "smaller"}), dir, generous).exit_code, 0);
  RunResult other = run_whittle(lab_arguments(dir, {"--profile", "smaller", "--set", "lora.rank=3"}), dir, generous);
  expect_one_line_error(other, {"another config", "lora"});
}

TEST(LabCommand, ConfigMistakesAreNamed) {
  TempDir dir;
  write_text(dir / "lab.toml", tiny_lab_config());
  expect_one_line_error(run_whittle(lab_arguments(dir, {"--profile", "huge"}), dir),
                        {"no profile \"huge\"", "smaller"});
  expect_one_line_error(run_whittle(lab_arguments(dir, {"--set", "quantize.width=[4]"}), dir),
                        {"quantize.width", "not a known key"});
  expect_one_line_error(run_whittle(lab_arguments(dir, {"--set", "quantize.widths=[0]"}), dir), {"width"});
  expect_one_line_error(run_whittle(lab_arguments(dir, {"--set", "lora.rank=0"}), dir), {"rank"});
  expect_one_line_error(run_whittle(lab_arguments(dir, {"--set", "data.source_required=true", "--set", "data.source=\"\""}), dir),
                        {"data.source", "--data"});
  write_text(dir / "lab.toml", tiny_lab_config() + "[prune.training]\nepochs = \"two\"\n");
  expect_one_line_error(run_whittle(lab_arguments(dir), dir), {"prune.training.epochs", "integer"});
}

}  // namespace
}  // namespace whittle::cli_testing
