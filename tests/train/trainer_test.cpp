#include <gtest/gtest.h>

#include "support/synthetic_task.h"
#include "support/task_training.h"

#include <random>
#include <sstream>

#include "model/classifier_io.h"
#include "train/evaluate.h"
#include "train/schedule.h"
#include "train/trainer.h"
#include "util/error.h"

namespace whittle::train {
namespace {

TEST(Trainer, LearnsASyntheticTaskAndTheLossFalls) {
  auto model = model::new_classifier(test_support::tiny_task_config(), 0);
  test_support::TaskTraining outcome = test_support::train_on_contains_seven(model);
  test_support::expect_learned(outcome, 0.9);
  EXPECT_EQ(outcome.after.logits.size(0), 256);
}

TEST(Trainer, CallsBackAfterEachEpoch) {
  auto model = model::new_classifier(test_support::tiny_task_config(), 0);
  TrainOptions options;
  options.epochs = 2;
  std::vector<int64_t> epochs;
  std::ostringstream log;
  train_classifier(model, test_support::contains_seven_task(16, 3), options, [&](const EpochReport& r) { epochs.push_back(r.epoch); }, log);
  EXPECT_EQ(epochs, (std::vector<int64_t>{1, 2}));
}

// As in Mase's tutorials after LoRA: the embeddings stay as they were while
// the rest trains, and afterwards they are trainable again as before.
TEST(Trainer, FrozenEmbeddingsStayUnchangedWhileTheRestTrains) {
  auto model = model::new_classifier(test_support::tiny_task_config(), 0);
  torch::Tensor words = model->bert->embeddings->word_embeddings->weight.clone();
  torch::Tensor norm = model->bert->embeddings->layer_norm->weight.clone();
  torch::Tensor query = model->bert->encoder->layers[0]->attention->self->query->weight.clone();
  TrainOptions options;
  options.epochs = 1;
  options.learning_rate = 1e-3;
  options.freeze_embeddings = true;
  std::ostringstream log;
  train_classifier(model, test_support::contains_seven_task(32, 3), options, nullptr, log);
  EXPECT_TRUE(torch::equal(model->bert->embeddings->word_embeddings->weight, words));
  EXPECT_TRUE(torch::equal(model->bert->embeddings->layer_norm->weight, norm));
  EXPECT_FALSE(torch::equal(model->bert->encoder->layers[0]->attention->self->query->weight, query));
  for (auto& parameter : model->parameters()) EXPECT_TRUE(parameter.requires_grad());

  options.freeze_embeddings = false;
  train_classifier(model, test_support::contains_seven_task(32, 3), options, nullptr, log);
  EXPECT_FALSE(torch::equal(model->bert->embeddings->word_embeddings->weight, words));
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
  auto model = model::new_classifier(test_support::tiny_task_config(), 5);
  auto dataset = test_support::contains_seven_task(40, 4);
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
