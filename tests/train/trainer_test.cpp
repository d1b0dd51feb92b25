#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "model/classifier_io.h"
#include "train/evaluate.h"
#include "train/schedule.h"
#include "train/trainer.h"
#include "util/error.h"

namespace whittle::train {
namespace {

// Label 1 when the sequence contains token 7, else 0: learnable by a tiny
// model in a few hundred steps.
data::TokenizedDataset synthetic_task(int64_t examples, uint64_t seed) {
  std::mt19937_64 random(seed);
  data::TokenizedDataset dataset;
  for (int64_t i = 0; i < examples; ++i) {
    int64_t length = 4 + static_cast<int64_t>(random() % 20);
    std::vector<int32_t> ids = {2};  // [CLS]
    int64_t label = static_cast<int64_t>(random() % 2);
    for (int64_t t = 0; t < length; ++t) ids.push_back(static_cast<int32_t>(8 + random() % 40));
    if (label == 1) ids[1 + random() % length] = 7;
    ids.push_back(3);  // [SEP]
    dataset.ids.push_back(ids);
    dataset.labels.push_back(label);
  }
  return dataset;
}

model::BertConfig tiny_config() {
  model::BertConfig config;
  config.vocab_size = 64;
  config.hidden_size = 32;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 2;
  config.intermediate_size = 64;
  config.max_position_embeddings = 64;
  return config;
}

TEST(Trainer, LearnsASyntheticTaskAndTheLossFalls) {
  auto model = model::new_classifier(tiny_config(), 0);
  auto train_set = synthetic_task(512, 1);
  auto test_set = synthetic_task(256, 2);
  std::ostringstream log;
  double before = evaluate(model, test_set, {}, log).loss;
  TrainOptions options;
  options.epochs = 6;
  options.batch_size = 16;
  options.learning_rate = 3e-3;
  options.warmup_ratio = 0.1;
  options.weight_decay = 0.01;
  auto reports = train_classifier(model, train_set, options, nullptr, log);
  ASSERT_EQ(reports.size(), 6u);
  EXPECT_LT(reports.back().mean_loss, 0.5 * reports.front().mean_loss);
  auto after = evaluate(model, test_set, {}, log);
  EXPECT_LT(after.loss, before);
  EXPECT_GT(after.accuracy, 0.9);
  EXPECT_EQ(after.logits.size(0), 256);
}

TEST(Trainer, CallsBackAfterEachEpoch) {
  auto model = model::new_classifier(tiny_config(), 0);
  TrainOptions options;
  options.epochs = 2;
  std::vector<int64_t> epochs;
  std::ostringstream log;
  train_classifier(model, synthetic_task(16, 3), options, [&](const EpochReport& r) { epochs.push_back(r.epoch); }, log);
  EXPECT_EQ(epochs, (std::vector<int64_t>{1, 2}));
}

TEST(Trainer, RejectsInvalidOptions) {
  auto expect_error = [](TrainOptions options, const std::string& fragment) {
    try {
      options.validate();
      FAIL() << "no error for " << fragment;
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
    }
  };
  TrainOptions bad;
  bad.batch_size = 0;
  expect_error(bad, "batch size");
  bad = {};
  bad.learning_rate = -1e-3;
  expect_error(bad, "learning rate");
  bad = {};
  bad.epochs = 0;
  expect_error(bad, "epochs");
  bad = {};
  bad.warmup_ratio = 1.5;
  expect_error(bad, "warm-up");
}

TEST(Trainer, EvaluatesInDatasetOrderWhateverTheBatching) {
  auto model = model::new_classifier(tiny_config(), 5);
  auto dataset = synthetic_task(40, 4);
  std::ostringstream log;
  auto batched = evaluate(model, dataset, {7, 32}, log);
  model->eval();
  for (int64_t i : {0, 13, 39}) {
    auto ids = torch::tensor(std::vector<int64_t>(dataset.ids[i].begin(), dataset.ids[i].end())).unsqueeze(0);
    auto alone = model->forward(ids, torch::ones_like(ids));
    EXPECT_TRUE(torch::allclose(batched.logits[i], alone[0], 1e-5, 1e-6)) << i;
  }
}

TEST(LinearSchedule, WarmsUpThenDecaysToZero) {
  LinearSchedule schedule(1.0, 10, 110);
  EXPECT_DOUBLE_EQ(schedule.rate(0), 0.0);
  EXPECT_DOUBLE_EQ(schedule.rate(5), 0.5);
  EXPECT_DOUBLE_EQ(schedule.rate(10), 1.0);
  EXPECT_DOUBLE_EQ(schedule.rate(60), 0.5);
  EXPECT_DOUBLE_EQ(schedule.rate(110), 0.0);
  LinearSchedule no_warmup(2.0, 0, 4);
  EXPECT_DOUBLE_EQ(no_warmup.rate(0), 2.0);
  EXPECT_DOUBLE_EQ(no_warmup.rate(2), 1.0);
}

}  // namespace
}  // namespace whittle::train
