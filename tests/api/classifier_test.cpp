// The public library against the code it wraps: a checkpoint and a compiled
// model opened through whittle::Classifier give the logits that the model
// and the integer engine compute in-process, and errors carry the messages
// of the underlying loaders (the ones the CLI prints).
#include "whittle/classifier.h"

#include <gtest/gtest.h>

#include <numeric>

#include "deploy/compile.h"
#include "deploy/deployed_classifier.h"
#include "deploy/model_file.h"
#include "model/checkpoint.h"
#include "model/classifier_io.h"
#include "support/temp_dir.h"
#include "text/tokenizer.h"
#include "text/tokenizer_files.h"
#include "util/atomic_file.h"

namespace whittle {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;

const fs::path kFixtures = WHITTLE_TEST_FIXTURES;
const std::vector<std::string> kTexts = {"A wonderful film, moving and funny.",
                                         "Dull, predictable and far too long; I left early.", ""};

fs::path tokenizer_dir() { return kFixtures / "tokenizer"; }

model::BertForSequenceClassification write_checkpoint(const fs::path& dir) {
  auto model = model::new_classifier(model::load_bert_config(kFixtures / "cli" / "tiny-bert-config.json"), 1);
  model::save_checkpoint(dir, model::classifier_checkpoint(model, nlohmann::json::object()), tokenizer_dir());
  return model;
}

// One text alone, unpadded, through `forward`.
template <typename Forward>
std::vector<float> logits_of_one(Forward&& forward, const std::string& text) {
  std::vector<int32_t> ids = text::Tokenizer::load(tokenizer_dir()).encode(text, 128);  // the fixture model's positions
  torch::Tensor input_ids = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).unsqueeze(0);
  torch::Tensor logits = forward(input_ids, torch::ones_like(input_ids)).to(torch::kFloat32).contiguous();
  return {logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel()};
}

void expect_consistent(const Prediction& prediction, int64_t classes) {
  ASSERT_EQ(static_cast<int64_t>(prediction.logits.size()), classes);
  ASSERT_EQ(static_cast<int64_t>(prediction.probabilities.size()), classes);
  EXPECT_NEAR(std::accumulate(prediction.probabilities.begin(), prediction.probabilities.end(), 0.0), 1.0, 1e-6);
  for (int64_t c = 0; c < classes; ++c) {
    EXPECT_LE(prediction.logits[c], prediction.logits[prediction.label]);
    EXPECT_LE(prediction.probabilities[c], prediction.probabilities[prediction.label]);
  }
}

void expect_logits_near(const std::vector<float>& actual, const std::vector<float>& expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tolerance) << "logit " << i;
}

std::string error_of(const std::function<void()>& work) {
  try {
    work();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no whittle::Error)";
}

TEST(Classifier, GivesTheCheckpointModelsLogits) {
  TempDir dir;
  auto model = write_checkpoint(dir / "model");
  model->eval();
  Classifier classifier = Classifier::open(dir / "model");
  EXPECT_EQ(classifier.engine(), "simulated");
  EXPECT_EQ(classifier.num_labels(), 2);
  EXPECT_EQ(classifier.tokenize(kTexts[0]), text::Tokenizer::load(tokenizer_dir()).encode(kTexts[0], 128));

  std::vector<Prediction> predictions = classifier.classify(kTexts);
  ASSERT_EQ(predictions.size(), kTexts.size());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < kTexts.size(); ++i) {
    expect_consistent(predictions[i], 2);
    // Padding a text to its batch's length changes its logits only by rounding.
    expect_logits_near(predictions[i].logits,
                       logits_of_one([&](const auto& ids, const auto& mask) { return model->forward(ids, mask); },
                                     kTexts[i]),
                       1e-5);
  }
}

TEST(Classifier, BatchSizeDoesNotChangePredictions) {
  TempDir dir;
  write_checkpoint(dir / "model");
  ClassifierOptions one_at_a_time;
  one_at_a_time.batch_size = 1;
  std::vector<Prediction> batched = Classifier::open(dir / "model").classify(kTexts);
  std::vector<Prediction> single = Classifier::open(dir / "model", one_at_a_time).classify(kTexts);
  ASSERT_EQ(single.size(), batched.size());
  for (size_t i = 0; i < kTexts.size(); ++i) {
    EXPECT_EQ(single[i].label, batched[i].label);
    expect_logits_near(single[i].logits, batched[i].logits, 1e-5);
  }
  EXPECT_TRUE(Classifier::open(dir / "model").classify({}).empty());
}

TEST(Classifier, RunsCompiledModelsOnTheIntegerEngine) {
  TempDir dir;
  auto model = write_checkpoint(dir / "model");
  deploy::CompiledModel compiled =
      deploy::compile_classifier(model, text::read_tokenizer_files(tokenizer_dir()), deploy::CompileOptions{});
  deploy::write_compiled_model(dir / "model.whittle", compiled);

  Classifier classifier = Classifier::open(dir / "model.whittle");
  EXPECT_EQ(classifier.engine(), "integer");
  std::vector<Prediction> predictions = classifier.classify(kTexts);
  ASSERT_EQ(predictions.size(), kTexts.size());
  deploy::DeployedClassifier engine(deploy::read_compiled_model(dir / "model.whittle"));
  for (size_t i = 0; i < kTexts.size(); ++i) {
    expect_consistent(predictions[i], 2);
    expect_logits_near(predictions[i].logits,
                       logits_of_one([&](const auto& ids, const auto& mask) { return engine.forward(ids, mask); },
                                     kTexts[i]),
                       1e-4);
  }
}

TEST(Classifier, ErrorsNameTheProblem) {
  TempDir dir;
  write_checkpoint(dir / "model");
  EXPECT_EQ(error_of([&] { Classifier::open(dir / "missing"); }),
            "model " + (dir / "missing").string() + " does not exist");

  ClassifierOptions options;
  options.batch_size = 0;
  EXPECT_EQ(error_of([&] { Classifier::open(dir / "model", options); }), "batch_size must be at least 1, got 0");
  options = {};
  options.max_length = 129;
  EXPECT_EQ(error_of([&] { Classifier::open(dir / "model", options); }),
            "max_length 129 is longer than the model's max_position_embeddings (128)");
  options = {};
  options.tokenizer_dir = dir / "no-tokenizer";
  EXPECT_NE(error_of([&] { Classifier::open(dir / "model", options); }).find("no-tokenizer"), std::string::npos);

  // A damaged file gives the loader's own message, the one the CLI prints.
  write_file_atomically(dir / "model" / model::Checkpoint::weights_file, "not safetensors");
  std::string loader_message = error_of([&] { model::load_checkpoint(dir / "model"); });
  EXPECT_NE(loader_message, "(no whittle::Error)");
  EXPECT_EQ(error_of([&] { Classifier::open(dir / "model"); }), loader_message);

  write_file_atomically(dir / "model.whittle", "not a model file");
  EXPECT_NE(error_of([&] { Classifier::open(dir / "model.whittle"); }).find("model.whittle"), std::string::npos);
  EXPECT_EQ(error_of([] { set_threads(-1); }), "threads must not be negative, got -1");
}

}  // namespace
}  // namespace whittle
