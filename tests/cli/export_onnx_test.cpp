// `whittle export --format onnx` as a user runs it: the file and the summary
// line, and the refusals (an unknown format, flags of the other format, a
// model with random input masks), each one line and no file left behind.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;

class CliExportOnnx : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(checkpoint_); }

  RunResult export_onnx(const fs::path& from, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> arguments = {"export", "--from", from.string(), "--out", out_.string()};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return run_whittle(arguments, dir_);
  }

  TempDir dir_;
  fs::path checkpoint_ = dir_ / "checkpoint";
  fs::path out_ = dir_ / "model.onnx";
};

TEST_F(CliExportOnnx, WritesTheModelAndSummarizesItInOneLine) {
  RunResult result = export_onnx(checkpoint_, {"--format", "onnx"});
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  const nlohmann::json summary = nlohmann::json::parse(result.out);
  EXPECT_EQ(summary.at("format"), "onnx");
  EXPECT_EQ(summary.at("opset"), 17);
  EXPECT_EQ(summary.at("ir_version"), 8);
  ASSERT_TRUE(fs::exists(out_));
  EXPECT_EQ(summary.at("bytes").get<uintmax_t>(), fs::file_size(out_));
}

TEST_F(CliExportOnnx, UnknownFormatIsRefusedBeforeTheCheckpointIsRead) {
  expect_one_line_error(export_onnx(dir_ / "missing", {"--format", "tflite"}), {"--format", "tflite", "onnx"});
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(CliExportOnnx, OnnxFlagsAreRefusedForTheCheckpointFormat) {
  expect_one_line_error(export_onnx(checkpoint_, {"--token-type-ids"}), {"--token-type-ids", "--format onnx"});
  expect_one_line_error(export_onnx(checkpoint_, {"--format", "onnx", "--tokenizer", checkpoint_.string()}),
                        {"--tokenizer", "huggingface"});
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(CliExportOnnx, RandomInputMasksAreRefusedNamingTheLayer) {
  const fs::path pruned = dir_ / "pruned";
  RunResult prune = run_whittle({"prune", "--from", checkpoint_.string(), "--sparsity", "0.5", "--method", "random",
                                 "--epochs", "1", "--data", imdb_fixture().string(), "--cache-dir",
                                 (dir_ / "cache").string(), "--max-length", "64", "--out", pruned.string()},
                                dir_, {.timeout = std::chrono::seconds(120)});
  ASSERT_EQ(prune.exit_code, 0) << prune.describe();
  expect_one_line_error(export_onnx(pruned, {"--format", "onnx"}), {"cannot export", "random", "l1-norm"});
  EXPECT_FALSE(fs::exists(out_));
}

}  // namespace
}  // namespace whittle::cli_testing
