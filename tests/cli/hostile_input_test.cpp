// Inputs that once gave silently wrong results: each must now be refused in
// one line naming the problem, or do what the user meant.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"
#include "model/checkpoint.h"
#include "model/classifier_io.h"
#include "model/safetensors.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;

RunResult run_ptq_sweep(const TempDir& dir, const fs::path& base) {
  return run_whittle({"sweep", "quant", "--from", base.string(), "--out", (dir / "sweep").string(), "--data",
                      imdb_fixture().string(), "--cache-dir", (dir / "cache").string(), "--max-length", "32",
                      "--widths", "8", "--no-qat"},
                     dir);
}

RunResult run_eval_from(const TempDir& dir, const fs::path& checkpoint) {
  return run_whittle({"eval", "--from", checkpoint.string(), "--data", imdb_fixture().string(), "--cache-dir",
                      (dir / "cache").string(), "--max-length", "32"},
                     dir, {.timeout = std::chrono::seconds(60)});
}

// Rewrites `key` of the checkpoint's config.json.
void set_config(const fs::path& checkpoint, const std::string& key, const nlohmann::json& value) {
  nlohmann::json config = nlohmann::json::parse(read_text(checkpoint / "config.json"));
  config[key] = value;
  write_text(checkpoint / "config.json", config.dump(2));
}

// Rewrites the checkpoint's weights through `edit`.
template <typename Edit>
void edit_weights(const fs::path& checkpoint, Edit&& edit) {
  model::TensorMap tensors = model::read_safetensors(checkpoint / "model.safetensors", /*keep_dtype=*/true);
  edit(tensors);
  model::write_safetensors(checkpoint / "model.safetensors", tensors);
}

TEST(HostileInput, ConfigWithFewerLayersThanTheWeightsIsRefused) {
  TempDir dir;
  const fs::path checkpoint = dir / "two-layers";
  model::BertConfig config = model::load_bert_config(tiny_config_fixture());
  config.num_hidden_layers = 2;
  auto model = model::new_classifier(config, 1);
  model::save_checkpoint(checkpoint, model::classifier_checkpoint(model, nlohmann::json::object()), tokenizer_fixture());
  set_config(checkpoint, "num_hidden_layers", 1);
  expect_one_line_error(run_eval_from(dir, checkpoint), {"has no place for", "bert.encoder.layer.1.", "config.json"});
}

TEST(HostileInput, UnknownTensorIsRefused) {
  TempDir dir;
  write_tiny_checkpoint(dir / "model");
  edit_weights(dir / "model", [](model::TensorMap& tensors) { tensors["bert.surprise.weight"] = torch::zeros({3}); });
  expect_one_line_error(run_eval_from(dir, dir / "model"), {"has no place for", "bert.surprise.weight"});
}

TEST(HostileInput, PretrainingHeadsBesideTheEncoderAreStillAccepted) {
  TempDir dir;
  write_tiny_checkpoint(dir / "model");
  edit_weights(dir / "model", [](model::TensorMap& tensors) { tensors["cls.predictions.bias"] = torch::zeros({3}); });
  RunResult result = run_eval_from(dir, dir / "model");
  EXPECT_EQ(result.exit_code, 0) << result.describe();
}

TEST(HostileInput, FloatWeightsRelabelledAsIntegersAreRefused) {
  TempDir dir;
  write_tiny_checkpoint(dir / "model");
  edit_weights(dir / "model", [](model::TensorMap& tensors) {
    torch::Tensor& weight = tensors.at("classifier.weight");
    weight = weight.contiguous().view(torch::kInt32).clone();  // same bytes, labelled I32
  });
  expect_one_line_error(run_eval_from(dir, dir / "model"), {"classifier.weight", "is stored as Int"});
}

TEST(HostileInput, NanWeightsAreRefused) {
  TempDir dir;
  write_tiny_checkpoint(dir / "model");
  edit_weights(dir / "model", [](model::TensorMap& tensors) { tensors.at("classifier.bias")[0] = std::nanf(""); });
  expect_one_line_error(run_eval_from(dir, dir / "model"), {"classifier.bias holds NaN or infinite values"});
}

// Sizes are checked before anything is allocated by them: 10^12 rows would
// ask for petabytes, 4,000,000 for gigabytes and seconds.
TEST(HostileInput, HugeDeclaredSizesAreRefusedBeforeAllocating) {
  TempDir dir;
  write_tiny_checkpoint(dir / "model");
  set_config(dir / "model", "vocab_size", int64_t{1'000'000'000'000});
  expect_one_line_error(run_eval_from(dir, dir / "model"), {"vocab_size", "implausibly large"});
  set_config(dir / "model", "vocab_size", 4'000'000);
  const auto start = std::chrono::steady_clock::now();
  expect_one_line_error(run_eval_from(dir, dir / "model"), {"word_embeddings", "config.json declares"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  set_config(dir / "model", "intermediate_size", int64_t{1} << 30);
  expect_one_line_error(run_eval_from(dir, dir / "model"), {"declares a model of", "beyond the 2^32 parameters"});
}

TEST(HostileInput, FolderAndFileMixupsSayWhichIsWhich) {
  TempDir dir;
  write_tiny_checkpoint(dir / "model");
  fs::remove(dir / "model" / "model.safetensors");
  fs::create_directories(dir / "model" / "model.safetensors");
  expect_one_line_error(run_eval_from(dir, dir / "model"), {"model.safetensors is a folder, not a file"});
  expect_one_line_error(run_eval_from(dir, dir / "model" / "config.json"), {"config.json is a file, not a folder"});
}

// The sweep's signature holds the base model's content, not only its path:
// a model replaced at the same path does not mix its points with the old one's.
TEST(HostileInput, SweepResumedOnAReplacedBaseModelIsRefused) {
  TempDir dir;
  const fs::path base = dir / "base";
  write_tiny_checkpoint(base, /*seed=*/1);
  for (int run = 0; run < 2; ++run) {  // the second run resumes on the same model
    RunResult result = run_ptq_sweep(dir, base);
    ASSERT_EQ(result.exit_code, 0) << result.describe();
  }

  fs::remove_all(base);
  write_tiny_checkpoint(base, /*seed=*/2);
  expect_one_line_error(run_ptq_sweep(dir, base), {"different setup", "base_model_digest"});
}

}  // namespace
}  // namespace whittle::cli_testing
