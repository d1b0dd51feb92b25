// Quantization-aware training: the quantize pass lives in whittle_passes and
// the trainer in whittle_train; this binary links both.
#include <gtest/gtest.h>

#include "support/synthetic_task.h"

#include <random>
#include <sstream>

#include "model/classifier_io.h"
#include "passes/quantize/quantize_pass.h"
#include "passes/quantize/quantize_transform.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace whittle::passes {
namespace {

TEST(QuantizationAwareTraining, LearnsATaskWithEightBitLinears) {
  auto model = model::new_classifier(test_support::tiny_task_config(), 0);
  // Mase's lab setting: 8 bits, 4 of them fractional, for inputs, weights and biases.
  QuantizeReport report = quantize_pass(model, uniform_quantize_config(8, 4));
  ASSERT_EQ(report.quantized_count(), 14);
  auto train_set = test_support::contains_seven_task(512, 1);
  auto test_set = test_support::contains_seven_task(256, 2);
  std::ostringstream log;
  double before = train::evaluate(model, test_set, {}, log).loss;

  train::TrainOptions options;
  options.epochs = 6;
  options.batch_size = 16;
  options.learning_rate = 3e-3;
  options.warmup_ratio = 0.1;
  auto epochs = train::train_classifier(model, train_set, options, nullptr, log);
  ASSERT_EQ(epochs.size(), 6u);
  EXPECT_LT(epochs.back().mean_loss, 0.5 * epochs.front().mean_loss);

  auto after = train::evaluate(model, test_set, {}, log);
  EXPECT_LT(after.loss, before);
  EXPECT_GT(after.accuracy, 0.9);

  // Training moved the float weights; the layers still compute with their
  // quantized values, which lie on the 8-bit grid of steps of 1/16.
  auto& query = model->bert->encoder->layers[0]->attention->self->query;
  ASSERT_TRUE(query->find_transform<QuantizeTransformImpl>());
  torch::Tensor effective = query->effective_weight().detach();
  EXPECT_TRUE(torch::equal(effective * 16, torch::round(effective * 16)));
  EXPECT_FALSE(torch::equal(effective, query->weight.detach()));
}

}  // namespace
}  // namespace whittle::passes
