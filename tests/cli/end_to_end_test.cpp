// The happy path on the tiny fixtures: finetune writes a loadable checkpoint,
// eval reads it back and writes one prediction per test review, and the saved
// tokenizer gives BERT's ids.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty()) lines.push_back(json::parse(line));
  }
  return lines;
}

TEST(CliEndToEnd, FinetuneThenEvalThenTokenize) {
  TempDir dir;
  const fs::path checkpoint = dir / "tiny-imdb";
  const RunOptions generous{.timeout = std::chrono::seconds(60)};

  const RunResult finetune = run_whittle(
      {"finetune", "--config", tiny_config_fixture().string(), "--data", imdb_fixture().string(), "--tokenizer",
       tokenizer_fixture().string(), "--epochs", "1", "--max-length", "64", "--cache-dir", (dir / "cache").string(),
       "--out", checkpoint.string()},
      dir, generous);
  expect_success(finetune);
  for (const char* file : {"config.json", "model.safetensors", "vocab.txt"}) {
    EXPECT_TRUE(fs::is_regular_file(checkpoint / file)) << file;
  }
  EXPECT_EQ(json::parse(read_text(checkpoint / "config.json")).at("hidden_size"), 16);
  const std::vector<json> epochs = json_lines(finetune.out);
  ASSERT_EQ(epochs.size(), 1u) << finetune.out;
  EXPECT_EQ(epochs[0].at("epoch"), 1);
  EXPECT_TRUE(fs::exists(dir / "cache")) << "--cache-dir was not used";

  // No --tokenizer: eval must use the vocab.txt saved in the checkpoint.
  const fs::path predictions = dir / "predictions.jsonl";
  const RunResult eval = run_whittle({"eval", "--from", checkpoint.string(), "--data", imdb_fixture().string(),
                                      "--max-length", "64", "--cache-dir", (dir / "cache").string(), "--predictions",
                                      predictions.string()},
                                     dir, generous);
  expect_success(eval);
  // The fixture's test split: neg/0_1, neg/5_3, pos/0_10, pos/1_8 in id order.
  const std::vector<json> rows = json_lines(read_text(predictions));
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<int> expected_labels = {0, 0, 1, 1};
  int correct = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("index"), i);
    EXPECT_EQ(rows[i].at("label"), expected_labels[i]);
    const std::vector<float> logits = rows[i].at("logits").get<std::vector<float>>();
    ASSERT_EQ(logits.size(), 2u);
    const int argmax = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    EXPECT_EQ(rows[i].at("prediction"), argmax);
    correct += argmax == expected_labels[i];
  }
  const std::vector<json> summary = json_lines(eval.out);
  ASSERT_EQ(summary.size(), 1u) << eval.out;
  EXPECT_EQ(summary[0].at("examples"), 4);
  EXPECT_DOUBLE_EQ(summary[0].at("accuracy").get<double>(), correct / 4.0);

  const RunResult tokenize =
      run_whittle({"tokenize", "--tokenizer", checkpoint.string()}, dir,
                  {.stdin_text = "{\"text\": \"hello world\"}\n\n{\"text\": \"Hello   WORLD\"}\n"});
  expect_success(tokenize);
  // The blank input line stays a blank line, so output lines match input lines.
  EXPECT_EQ(tokenize.out, "{\"ids\":[101,7592,2088,102]}\n\n{\"ids\":[101,7592,2088,102]}\n");
}

// The fine-tune of a pretrained encoder (the fixture config has one layer)
// with its top attention drawn anew:
// the checkpoint records which tensors were replaced, and a request beyond the
// model's depth is refused before any training.
TEST(CliEndToEnd, FinetuneFromCheckpointReinitialisesTopQueryKey) {
  TempDir dir;
  const fs::path pretrained = dir / "pretrained";
  write_tiny_checkpoint(pretrained);
  auto finetune_from = [&](const std::string& flag, const std::string& layers, const fs::path& out) {
    return run_whittle({"finetune", "--from", pretrained.string(), "--data", imdb_fixture().string(), "--epochs",
                        "1", "--max-length", "64", "--no-eval", "--cache-dir", (dir / "cache").string(), flag, layers,
                        "--out", out.string()},
                       dir, {.timeout = std::chrono::seconds(60)});
  };
  const fs::path out = dir / "reinitialised";
  expect_success(finetune_from("--reinit-query-key", "1", out));
  const json replaced = json::parse(read_text(out / "whittle.json")).at("finetune").at("reinitialised");
  const json expected = {"bert.encoder.layer.0.attention.self.query.weight",
                         "bert.encoder.layer.0.attention.self.query.bias",
                         "bert.encoder.layer.0.attention.self.key.weight",
                         "bert.encoder.layer.0.attention.self.key.bias"};
  EXPECT_EQ(replaced, expected);

  expect_one_line_error(finetune_from("--reinit-layers", "3", dir / "too-deep"), {"top 3 layers", "has 1 encoder layer"});
  EXPECT_FALSE(fs::exists(dir / "too-deep"));
}

// quantize, compile, then classify lines on stdin: one answer per input
// line, in order, a blank line for a blank line.
TEST(CliEndToEnd, QuantizeCompileThenClassifyLineByLine) {
  TempDir dir;
  write_tiny_checkpoint(dir / "float");
  expect_success(run_whittle({"quantize", "--from", (dir / "float").string(), "--width", "8", "--out",
                              (dir / "w8").string(), "--data", imdb_fixture().string(), "--cache-dir",
                              (dir / "cache").string(), "--max-length", "32"},
                             dir));
  expect_success(run_whittle({"compile", "--from", (dir / "w8").string(), "--out", (dir / "w8.whittle").string()}, dir));
  const RunResult classified =
      run_whittle({"run", "--model", (dir / "w8.whittle").string(), "--classify", "--batch-size", "2", "--max-length", "32"}, dir,
                  {.stdin_text = "{\"text\": \"a fine film\"}\n\n{\"text\": \"dull\"}\n{\"text\": \"long\"}\n"});
  expect_success(classified);
  std::vector<std::string> lines;
  std::istringstream stream(classified.out);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u) << classified.out;
  EXPECT_EQ(lines[1], "");
  for (size_t i : {size_t{0}, size_t{2}, size_t{3}}) EXPECT_TRUE(json::parse(lines[i]).contains("prediction")) << lines[i];
}

}  // namespace
}  // namespace whittle::cli_testing
