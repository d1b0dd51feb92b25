// Quantization-aware training: the quantize pass lives in whittle_passes and
// the trainer in whittle_train; this binary links both.
#include <gtest/gtest.h>

#include "support/synthetic_task.h"
#include "support/task_training.h"

#include "model/classifier_io.h"
#include "passes/quantize/quantize_pass.h"
#include "passes/quantize/quantize_transform.h"

namespace whittle::passes {
namespace {

TEST(QuantizationAwareTraining, LearnsATaskWithEightBitLinears) {
  auto model = model::new_classifier(test_support::tiny_task_config(), 0);
  // Mase's lab setting: 8 bits, 4 of them fractional, for inputs, weights and biases.
  QuantizeReport report = quantize_pass(model, uniform_quantize_config(8, 4));
  ASSERT_EQ(report.quantized_count(), 14);
  test_support::expect_learned(test_support::train_on_contains_seven(model), 0.9);

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
