// Command lines that are wrong before any file is read: CLI11 parse errors and
// out-of-range training options. Each must fail fast, in one line naming the
// flag, and leave no --out directory behind.
#include <gtest/gtest.h>

#include "cli/cli_runner.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;

// finetune from the tiny config on the fixture data, plus `extra` arguments.
RunResult run_tiny_finetune(const TempDir& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> arguments = {"finetune",         "--config",      tiny_config_fixture().string(),
                                        "--data",           imdb_fixture().string(),
                                        "--tokenizer",      tokenizer_fixture().string(),
                                        "--cache-dir",      (dir / "cache").string(),
                                        "--out",            (dir / "out").string()};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return run_whittle(arguments, dir);
}

TEST(CliArguments, UnknownFlagIsAUsageError) {
  TempDir dir;
  expect_usage_error(run_whittle({"eval", "--from", "x", "--no-such-flag"}, dir), {"--no-such-flag"});
}

TEST(CliArguments, UnknownSubcommandIsAUsageError) {
  TempDir dir;
  expect_usage_error(run_whittle({"distill"}, dir), {"distill"});
}

TEST(CliArguments, MissingSubcommandIsAUsageError) {
  TempDir dir;
  expect_usage_error(run_whittle({}, dir), {"subcommand"});
}

TEST(CliArguments, FinetuneWithoutOutIsAUsageError) {
  TempDir dir;
  expect_usage_error(run_whittle({"finetune", "--config", tiny_config_fixture().string()}, dir), {"--out"});
}

TEST(CliArguments, EvalWithoutFromIsAUsageError) {
  TempDir dir;
  expect_usage_error(run_whittle({"eval", "--data", imdb_fixture().string()}, dir), {"--from"});
}

TEST(CliArguments, NonNumericValueIsAUsageError) {
  TempDir dir;
  expect_usage_error(run_tiny_finetune(dir, {"--epochs", "two"}), {"--epochs", "two"});
}

TEST(CliArguments, ZeroBatchSizeIsRefused) {
  TempDir dir;
  expect_one_line_error(run_tiny_finetune(dir, {"--batch-size", "0"}), {"batch size", "0"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CliArguments, NegativeLimitsAndZeroEvaluationBatchAreRefused) {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--train-limit", "-5"}, {"--test-limit", "-1"}, {"--eval-batch-size", "0"}}) {
    TempDir dir;
    expect_one_line_error(run_tiny_finetune(dir, {flag, value}), {flag, value});
    EXPECT_FALSE(fs::exists(dir / "out")) << flag;
  }
}

TEST(CliArguments, PretrainTakesTheSharedOptimizerFlags) {
  TempDir dir;
  expect_one_line_error(run_whittle({"pretrain", "--data", imdb_fixture().string(), "--out", (dir / "out").string(),
                                     "--lr", "-1"},
                                    dir),
                        {"learning"});
}

TEST(CliArguments, NegativeLearningRateIsRefused) {
  TempDir dir;
  expect_one_line_error(run_tiny_finetune(dir, {"--lr", "-1"}), {"learning rate", "-1"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CliArguments, ZeroEpochsIsRefused) {
  TempDir dir;
  expect_one_line_error(run_tiny_finetune(dir, {"--epochs", "0"}), {"epochs", "0"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CliArguments, ZeroMaxLengthIsRefused) {
  TempDir dir;
  expect_one_line_error(run_tiny_finetune(dir, {"--max-length", "0"}), {"--max-length", "0"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CliArguments, WarmupRatioAboveOneIsRefused) {
  TempDir dir;
  expect_one_line_error(run_tiny_finetune(dir, {"--warmup-ratio", "2"}), {"warm-up ratio", "2"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CliArguments, MaxLengthBeyondPositionEmbeddingsIsRefused) {
  TempDir dir;
  // The tiny config has 128 positions; the default --max-length is 512.
  expect_one_line_error(run_tiny_finetune(dir, {}), {"--max-length 512", "max_position_embeddings (128)"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CliArguments, ReinitWithoutCheckpointIsRefused) {
  TempDir dir;
  expect_one_line_error(run_tiny_finetune(dir, {"--max-length", "64", "--reinit-query-key", "1"}),
                        {"--reinit-query-key", "--from"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CliArguments, EvalZeroBatchSizeIsRefused) {
  TempDir dir;
  expect_one_line_error(run_whittle({"eval", "--from", (dir / "missing").string(), "--batch-size", "0"}, dir),
                        {"--batch-size", "0"});
}

TEST(CliArguments, EvalUnknownSplitIsRefused) {
  TempDir dir;
  expect_one_line_error(run_whittle({"eval", "--from", (dir / "missing").string(), "--split", "dev"}, dir),
                        {"--split", "dev"});
}

}  // namespace
}  // namespace whittle::cli_testing
