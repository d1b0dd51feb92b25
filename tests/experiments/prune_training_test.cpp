// Pruning with fine-tuning and with checkpoints: the prune pass lives in
// whittle_passes, the trainer in whittle_train and save/load of compressed
// models in whittle_experiments; this binary links them all.
#include <gtest/gtest.h>

#include "support/model_batch.h"
#include "support/synthetic_task.h"
#include "support/task_training.h"
#include "support/temp_dir.h"

#include <filesystem>

#include "experiments/compressed_model.h"
#include "model/checkpoint.h"
#include "model/classifier_io.h"
#include "passes/prune/prune_pass.h"
#include "passes/prune/prune_transform.h"
#include "passes/quantize/quantize_pass.h"

namespace whittle::passes {
namespace {

using Batch = test_support::ModelBatch;
using test_support::eval_mode_logits;

// Ids below the tiny task's vocabulary of 64.
Batch example_batch() { return test_support::random_ids_batch(21, 4, 20, 8, 64); }

std::map<std::string, torch::Tensor> weight_masks(model::BertForSequenceClassification& model) {
  std::map<std::string, torch::Tensor> masks;
  for (auto& [name, linear] : model::find_linears(*model)) {
    if (auto transform = linear->find_transform<PruneTransformImpl>()) masks[name] = transform->weight_mask().clone();
  }
  return masks;
}

TEST(PruneTraining, FineTuningRecoversTheTaskAndKeepsTheMasks) {
  auto model = model::new_classifier(test_support::tiny_task_config(), 0);
  // Mase's lab setting: l1-norm at 50% for weights and activations.
  PruneReport report = prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm), 0);
  ASSERT_DOUBLE_EQ(report.overall_sparsity(), 0.5);
  auto masks_before = weight_masks(model);
  test_support::expect_learned(test_support::train_on_contains_seven(model), 0.85);

  // The masks did not move, and every masked weight is still exactly zero.
  auto masks_after = weight_masks(model);
  for (const auto& [name, mask] : masks_before) EXPECT_TRUE(torch::equal(mask, masks_after[name])) << name;
  EXPECT_GE(measure_weight_sparsity(*model).overall_sparsity(), 0.5);
}

class PrunedCheckpoint : public ::testing::Test {
 protected:
  // Trains a step so that raw weights, masks and thresholds all differ from
  // a fresh model's, saves, reloads and compares.
  void expect_round_trip(model::BertForSequenceClassification& model, const Batch& batch) {
    torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-2));
    model->train();
    torch::cross_entropy_loss(model->forward(batch.ids, batch.attention), torch::tensor({0, 1, 1, 0}, torch::kInt64))
        .backward();
    optimizer.step();
    torch::Tensor logits = eval_mode_logits(model, batch);

    experiments::save_compressed(directory_, model, {{"note", "test"}}, {});
    model::Checkpoint checkpoint = model::load_checkpoint(directory_);
    ASSERT_TRUE(checkpoint.whittle.contains("prune"));
    EXPECT_EQ(checkpoint.whittle["prune"]["masks"], "stored");
    ASSERT_TRUE(checkpoint.tensors.contains("bert.pooler.dense.prune.weight_mask"));
    EXPECT_EQ(checkpoint.tensors.at("bert.pooler.dense.prune.weight_mask").scalar_type(), torch::kBool);

    model::LoadedClassifier loaded = experiments::load_compressed(directory_, 5);
    EXPECT_TRUE(loaded.initialised.empty());
    EXPECT_EQ(loaded.model->cls_only_last_layer(), model->cls_only_last_layer());
    auto original_masks = weight_masks(model);
    auto loaded_masks = weight_masks(loaded.model);
    ASSERT_EQ(loaded_masks.size(), original_masks.size());
    for (const auto& [name, mask] : original_masks) EXPECT_TRUE(torch::equal(mask, loaded_masks[name])) << name;
    for (auto& [name, linear] : model::find_linears(*loaded.model)) {
      std::vector<std::string> kinds;
      for (const auto& transform : linear->transforms()) kinds.push_back(transform->kind());
      EXPECT_EQ(kinds, (std::vector<std::string>{"prune", "quantize"})) << name;
    }
    EXPECT_TRUE(torch::equal(eval_mode_logits(loaded.model, batch), logits));
  }

  test_support::TempDir temp_;
  std::filesystem::path directory_ = temp_ / "model";
};

TEST_F(PrunedCheckpoint, QuantizedAndL1PrunedModelReloadsWithItsMasks) {
  auto model = model::new_classifier(test_support::tiny_task_config(), 0);
  quantize_pass(model, uniform_quantize_config(8, 4));
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm), 0);
  expect_round_trip(model, example_batch());
}

TEST_F(PrunedCheckpoint, CalibratedGlobalThresholdReloads) {
  auto model = model::new_classifier(test_support::tiny_task_config(), 0);
  quantize_pass(model, uniform_quantize_config(8, 4));
  Batch calibration = example_batch();
  prune_pass(model, uniform_prune_config(0.3, PruneMethod::l1_norm, PruneScope::global), 0,
             PruneCalibration{calibration.ids, calibration.attention});
  expect_round_trip(model, calibration);
  model::Checkpoint checkpoint = model::load_checkpoint(directory_);
  ASSERT_TRUE(checkpoint.tensors.contains("classifier.prune.activation_threshold"));
  EXPECT_GT(checkpoint.tensors.at("classifier.prune.activation_threshold").item<float>(), 0.0f);
}

}  // namespace
}  // namespace whittle::passes
