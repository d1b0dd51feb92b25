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

TEST(CliArguments, NonNumericWidthIsOneLinePointingAtTheSubcommandHelp) {
  TempDir dir;
  RunResult result = run_whittle({"quantize", "--from", "x", "--width", "eight", "--out", "y"}, dir);
  expect_usage_error(result, {"--width", "eight", "whittle quantize --help"});
}

TEST(CliArguments, FracWidthAboveTheWidthIsRefused) {
  TempDir dir;
  RunResult result = run_whittle({"quantize", "--from", "x", "--width", "8", "--frac", "9", "--out", "y"}, dir);
  expect_one_line_error(result, {"frac width must be from 0 to the width (8) for a Linear's input, got 9"});
}

TEST(CliArguments, NegativeLimitIsRefusedByEvalAndRun) {
  TempDir dir;
  expect_one_line_error(run_whittle({"eval", "--from", "x", "--limit", "-5"}, dir), {"--limit must not be negative", "-5"});
  expect_one_line_error(run_whittle({"run", "--model", "x", "--limit", "-5"}, dir), {"--limit must not be negative", "-5"});
}

TEST(CliArguments, PretrainTakesTheSharedOptimizerFlags) {
  TempDir dir;
  expect_one_line_error(run_whittle({"pretrain", "--data", imdb_fixture().string(), "--out", (dir / "out").string(),
                                     "--lr", "-1"},
                                    dir),
                        {"learning"});
}

// A finetune from the tiny config that must stop before training.
struct RefusedFinetune {
  std::string name;  // names the gtest case
  std::vector<std::string> extra;
  std::vector<std::string> error_parts;
};

void PrintTo(const RefusedFinetune& refused, std::ostream* out) { *out << refused.name; }

const RefusedFinetune kRefusedFinetunes[] = {
    {"ZeroBatchSize", {"--batch-size", "0"}, {"batch size", "0"}},
    {"NegativeTrainLimit", {"--train-limit", "-5"}, {"--train-limit", "-5"}},
    {"NegativeTestLimit", {"--test-limit", "-1"}, {"--test-limit", "-1"}},
    {"ZeroEvaluationBatchSize", {"--eval-batch-size", "0"}, {"--eval-batch-size", "0"}},
    {"NegativeLearningRate", {"--lr", "-1"}, {"learning rate", "-1"}},
    {"ZeroEpochs", {"--epochs", "0"}, {"epochs", "0"}},
    {"ZeroMaxLength", {"--max-length", "0"}, {"--max-length", "0"}},
    {"WarmupRatioAboveOne", {"--warmup-ratio", "2"}, {"warm-up ratio", "2"}},
    // The tiny config has 128 positions; the default --max-length is 512.
    {"MaxLengthBeyondPositionEmbeddings", {}, {"--max-length 512", "max_position_embeddings (128)"}},
    {"ReinitWithoutCheckpoint", {"--max-length", "64", "--reinit-query-key", "1"}, {"--reinit-query-key", "--from"}},
};

class RefusedFinetuneTest : public ::testing::TestWithParam<RefusedFinetune> {};

TEST_P(RefusedFinetuneTest, FailsInOneLineAndWritesNothing) {
  TempDir dir;
  expect_one_line_error(run_tiny_finetune(dir, GetParam().extra), GetParam().error_parts);
  EXPECT_FALSE(fs::exists(dir / "out"));
}

INSTANTIATE_TEST_SUITE_P(CliArguments, RefusedFinetuneTest, ::testing::ValuesIn(kRefusedFinetunes),
                         [](const ::testing::TestParamInfo<RefusedFinetune>& info) { return info.param.name; });

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
