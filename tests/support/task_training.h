#pragma once
// Training on the contains-seven task, shared by the tests that check a model
// (plain, quantized or pruned) still learns: the same data, optimiser settings
// and expectations, so that their results stay comparable.
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "model/bert.h"
#include "support/synthetic_task.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace whittle::test_support {

struct TaskTraining {
  double loss_before = 0.0;
  std::vector<train::EpochReport> epochs;
  train::EvalResult after;
};

// Six epochs on 512 examples, evaluated before and after on 256 others.
inline TaskTraining train_on_contains_seven(model::BertForSequenceClassification& model) {
  auto train_set = contains_seven_task(512, 1);
  auto test_set = contains_seven_task(256, 2);
  std::ostringstream log;
  TaskTraining outcome;
  outcome.loss_before = train::evaluate(model, test_set, {}, log).loss;
  train::TrainOptions options;
  options.epochs = 6;
  options.batch_size = 16;
  options.learning_rate = 3e-3;
  options.warmup_ratio = 0.1;
  options.weight_decay = 0.01;
  outcome.epochs = train::train_classifier(model, train_set, options, nullptr, log);
  outcome.after = train::evaluate(model, test_set, {}, log);
  return outcome;
}

// The training loss halved, the test loss fell, and the test accuracy passed `min_accuracy`.
inline void expect_learned(const TaskTraining& outcome, double min_accuracy) {
  ASSERT_EQ(outcome.epochs.size(), 6u);
  EXPECT_LT(outcome.epochs.back().mean_loss, 0.5 * outcome.epochs.front().mean_loss);
  EXPECT_LT(outcome.after.loss, outcome.loss_before);
  EXPECT_GT(outcome.after.accuracy, min_accuracy);
}

}  // namespace whittle::test_support
