// `whittle eval --from DIR` with a checkpoint that is missing or broken in one
// way at a time: each must end in one line naming the file and the problem.
#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"
#include "model/safetensors.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;

RunResult run_eval_from(const TempDir& dir, const fs::path& checkpoint) {
  return run_whittle({"eval", "--from", checkpoint.string(), "--data", imdb_fixture().string(), "--cache-dir",
                      (dir / "cache").string(), "--max-length", "64"},
                     dir);
}

class CliCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(checkpoint_); }

  void replace_weights(const std::string& bytes) { write_text(weights_, bytes); }

  void edit_config(const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json config = nlohmann::json::parse(read_text(checkpoint_ / "config.json"));
    edit(config);
    write_text(checkpoint_ / "config.json", config.dump(2));
  }

  TempDir dir_;
  fs::path checkpoint_ = dir_ / "checkpoint";
  fs::path weights_ = checkpoint_ / "model.safetensors";
};

TEST_F(CliCheckpoint, MissingDirectoryIsNamed) {
  const fs::path missing = dir_ / "no-such-checkpoint";
  expect_one_line_error(run_eval_from(dir_, missing), {missing.string(), "does not exist"});
}

TEST_F(CliCheckpoint, MissingConfigIsNamed) {
  fs::remove(checkpoint_ / "config.json");
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {(checkpoint_ / "config.json").string()});
}

TEST_F(CliCheckpoint, MissingWeightsAreNamed) {
  fs::remove(weights_);
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {weights_.string()});
}

TEST_F(CliCheckpoint, ConfigWithoutRequiredKeyNamesTheKey) {
  edit_config([](nlohmann::json& config) { config.erase("hidden_size"); });
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {"config.json", "hidden_size"});
}

TEST_F(CliCheckpoint, ConfigThatIsNotJsonIsNamed) {
  write_text(checkpoint_ / "config.json", "{\"hidden_size\": 16,");
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {"config.json"});
}

TEST_F(CliCheckpoint, TruncatedWeightsAreNamed) {
  const std::string whole = read_text(weights_);
  replace_weights(whole.substr(0, whole.size() / 2));
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {weights_.string()});
}

TEST_F(CliCheckpoint, WeightsCutInsideTheHeaderLengthAreNamed) {
  replace_weights(read_text(weights_).substr(0, 5));
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {weights_.string(), "8-byte"});
}

TEST_F(CliCheckpoint, HugeHeaderLengthIsRefused) {
  replace_weights(safetensors_bytes_with_length(1'000'000'000'000ULL, "{}"));
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {weights_.string(), "1000000000000"});
}

TEST_F(CliCheckpoint, HeaderThatIsNotJsonIsNamed) {
  replace_weights(safetensors_bytes("{\"a\": [1, 2", ""));
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {weights_.string(), "JSON"});
}

TEST_F(CliCheckpoint, OffsetsOutOfRangeAreNamed) {
  const std::string header = R"({"classifier.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("classifier.weight":{"dtype":"F32","shape":[2,16],"data_offsets":[8,136]}})";
  replace_weights(safetensors_bytes(header, std::string(16, '\0')));
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {weights_.string(), "classifier.weight", "out of range"});
}

TEST_F(CliCheckpoint, UnknownDtypeIsNamed) {
  const std::string header = R"({"classifier.bias":{"dtype":"F4","shape":[2],"data_offsets":[0,8]}})";
  replace_weights(safetensors_bytes(header, std::string(8, '\0')));
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {weights_.string(), "dtype", "F4"});
}

TEST_F(CliCheckpoint, TensorShapeThatDisagreesWithConfigIsNamed) {
  edit_config([](nlohmann::json& config) {
    config["hidden_size"] = 32;
    config["num_attention_heads"] = 2;
  });
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {"tensor bert.", "[30522, 16]", "[30522, 32]"});
}

TEST_F(CliCheckpoint, MissingEncoderTensorIsNamed) {
  const std::string header = R"({"classifier.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  replace_weights(safetensors_bytes(header, std::string(8, '\0')));
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {"lacks", "bert.embeddings"});
}

TEST_F(CliCheckpoint, EncoderWithoutClassifierIsRefused) {
  model::TensorMap tensors = model::read_safetensors(weights_);
  std::erase_if(tensors, [](const auto& entry) { return entry.first.starts_with("classifier."); });
  model::write_safetensors(weights_, tensors);
  expect_one_line_error(run_eval_from(dir_, checkpoint_), {checkpoint_.string(), "no trained classifier"});
}

TEST_F(CliCheckpoint, MaxLengthBeyondPositionEmbeddingsIsRefused) {
  expect_one_line_error(run_whittle({"eval", "--from", checkpoint_.string(), "--data", imdb_fixture().string(),
                                     "--cache-dir", (dir_ / "cache").string(), "--max-length", "129"},
                                    dir_),
                        {"--max-length 129", "max_position_embeddings (128)"});
}

TEST_F(CliCheckpoint, CheckpointTokenizerWithoutVocabIsRefused) {
  expect_one_line_error(
      run_whittle({"eval", "--from", checkpoint_.string(), "--data", imdb_fixture().string(), "--cache-dir",
                   (dir_ / "cache").string(), "--max-length", "64", "--tokenizer",
                   (checkpoint_ / "no-such-dir").string()},
                  dir_),
      {"no-such-dir"});
}

}  // namespace
}  // namespace whittle::cli_testing
