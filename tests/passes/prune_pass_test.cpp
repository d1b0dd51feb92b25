#include "passes/prune/prune_pass.h"

#include <gtest/gtest.h>

#include "model/classifier_io.h"
#include "passes/prune/magnitude_quantile.h"
#include "passes/prune/prune_transform.h"
#include "passes/quantize/fixed_point.h"
#include "passes/quantize/quantize_pass.h"
#include "passes/quantize/quantize_transform.h"
#include "util/error.h"
#include "support/model_batch.h"
#include "support/tiny_bert.h"

namespace whittle::passes {
namespace {

using nlohmann::json;
using Batch = test_support::ModelBatch;
using test_support::eval_mode_logits;

PruneConfig weights_only(double sparsity, PruneMethod method, PruneScope scope = PruneScope::local) {
  return uniform_prune_config(sparsity, method, scope, /*prune_activations=*/false);
}

std::shared_ptr<PruneTransformImpl> prune_transform_of(model::Linear& linear) {
  return linear->find_transform<PruneTransformImpl>();
}

TEST(PrunePass, LocalL1PrunesHalfOfEveryLayerAndZeroesTheRawWeights) {
  auto model = test_support::tiny_bert_classifier(0);
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, linear] : model::find_linears(*model)) before[name] = linear->weight.detach().clone();

  PruneReport report = prune_pass(model, weights_only(0.5, PruneMethod::l1_norm), 0);
  ASSERT_EQ(report.layers.size(), 14u);
  for (const auto& layer : report.layers) {
    // Distinct magnitudes, an even count: the threshold falls between the two
    // middle ones, so exactly half go.
    EXPECT_EQ(layer.zeros * 2, layer.weights) << layer.name;
  }
  EXPECT_DOUBLE_EQ(report.overall_sparsity(), 0.5);
  for (auto& [name, linear] : model::find_linears(*model)) {
    const torch::Tensor& original = before[name];
    float threshold = torch::quantile(original.abs().flatten(), 0.5).item<float>();
    torch::Tensor expected_mask = original.abs() > threshold;
    auto transform = prune_transform_of(linear);
    ASSERT_TRUE(transform) << name;
    EXPECT_TRUE(torch::equal(transform->weight_mask(), expected_mask)) << name;
    EXPECT_TRUE(torch::equal(linear->weight.detach(), original * expected_mask)) << name;
    EXPECT_TRUE(torch::equal(linear->effective_weight().detach(), original * expected_mask)) << name;
  }
  EXPECT_FALSE(model->last_layer_calibrates());  // weights only: every row still independent
}

TEST(PrunePass, GlobalScopePrunesTheSmallLayerFarMoreThanLocal) {
  auto scaled_model = [] {
    auto model = test_support::tiny_bert_classifier(0);
    torch::NoGradGuard no_grad;
    model->bert->pooler->dense->weight.mul_(0.01);  // far smaller than every other layer
    return model;
  };
  auto local = scaled_model();
  auto global = scaled_model();
  std::vector<torch::Tensor> weights;
  for (auto& [name, linear] : model::find_linears(*global)) weights.push_back(linear->weight.detach().clone());
  float global_threshold = magnitude_quantile(weights, 0.5);

  PruneReport local_report = prune_pass(local, weights_only(0.5, PruneMethod::l1_norm, PruneScope::local), 0);
  PruneReport global_report = prune_pass(global, weights_only(0.5, PruneMethod::l1_norm, PruneScope::global), 0);
  auto sparsity_of = [](const PruneReport& report, const std::string& name) {
    for (const auto& layer : report.layers) {
      if (layer.name == name) return layer.sparsity();
    }
    return -1.0;
  };
  EXPECT_DOUBLE_EQ(sparsity_of(local_report, "bert.pooler.dense"), 0.5);
  EXPECT_GT(sparsity_of(global_report, "bert.pooler.dense"), 0.99);
  // The global threshold is one over all weights: about half of them all go.
  EXPECT_NEAR(global_report.overall_sparsity(), 0.5, 1e-4);
  size_t i = 0;
  for (auto& [name, linear] : model::find_linears(*global)) {
    EXPECT_TRUE(torch::equal(prune_transform_of(linear)->weight_mask(), weights[i++].abs() > global_threshold)) << name;
  }
}

TEST(PrunePass, RandomWeightMasksAreSeeded) {
  auto first = test_support::tiny_bert_classifier(0);
  auto same = test_support::tiny_bert_classifier(0);
  auto other = test_support::tiny_bert_classifier(0);
  PruneReport report = prune_pass(first, weights_only(0.3, PruneMethod::random), 5);
  prune_pass(same, weights_only(0.3, PruneMethod::random), 5);
  prune_pass(other, weights_only(0.3, PruneMethod::random), 6);
  EXPECT_NEAR(report.overall_sparsity(), 0.3, 0.02);
  auto masks = [](model::BertForSequenceClassification& model) {
    std::vector<torch::Tensor> found;
    for (auto& [name, linear] : model::find_linears(*model)) found.push_back(prune_transform_of(linear)->weight_mask());
    return torch::cat(std::vector<torch::Tensor>{found[0].flatten(), found[4].flatten(), found[13].flatten()});
  };
  EXPECT_TRUE(torch::equal(masks(first), masks(same)));
  EXPECT_FALSE(torch::equal(masks(first), masks(other)));
}

TEST(PrunePass, GoesAheadOfQuantizationSoZeroStaysZero) {
  auto model = test_support::tiny_bert_classifier(0);
  quantize_pass(model, uniform_quantize_config(8, 4));
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm), 0);
  for (auto& [name, linear] : model::find_linears(*model)) {
    ASSERT_EQ(linear->transforms().size(), 2u) << name;
    EXPECT_EQ(linear->transforms()[0]->kind(), "prune") << name;
    EXPECT_EQ(linear->transforms()[1]->kind(), "quantize") << name;
    torch::NoGradGuard no_grad;
    torch::Tensor mask = prune_transform_of(linear)->weight_mask();
    torch::Tensor effective = linear->effective_weight();
    EXPECT_TRUE(torch::equal(effective, fixed_point_quantize(linear->weight * mask, 8, 4))) << name;
    EXPECT_EQ(effective.masked_select(mask.logical_not()).count_nonzero().item<int64_t>(), 0) << name;
  }
  // Quantizing again keeps pruning first.
  quantize_pass(model, uniform_quantize_config(6, 3));
  EXPECT_EQ(model->classifier->transforms()[0]->kind(), "prune");
}

TEST(PrunePass, PrunedWeightsStayZeroThroughOptimizerSteps) {
  auto model = test_support::tiny_bert_classifier(0);
  // An optimizer that already has momentum for every weight, with strong decay.
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(0.5).weight_decay(0.1));
  Batch batch = test_support::random_ids_batch(11);
  torch::Tensor labels = torch::tensor({0, 1, 1, 0}, torch::kInt64);
  auto step = [&] {
    model->train();
    optimizer.zero_grad();
    torch::cross_entropy_loss(model->forward(batch.ids, batch.attention), labels).backward();
    optimizer.step();
  };
  step();
  prune_pass(model, uniform_prune_config(0.6, PruneMethod::l1_norm), 0);
  for (int i = 0; i < 3; ++i) step();
  for (auto& [name, linear] : model::find_linears(*model)) {
    torch::NoGradGuard no_grad;
    torch::Tensor pruned = prune_transform_of(linear)->weight_mask().logical_not();
    EXPECT_EQ(linear->effective_weight().masked_select(pruned).count_nonzero().item<int64_t>(), 0) << name;
    EXPECT_EQ(linear->weight.grad().masked_select(pruned).count_nonzero().item<int64_t>(), 0) << name;
  }
  PruneReport measured = measure_weight_sparsity(*model);
  EXPECT_GE(measured.overall_sparsity(), 0.6 - 1e-3);
}

TEST(PrunePass, ActivationPruningCalibratesTheClsShortcutAndChangesLogits) {
  auto model = test_support::tiny_bert_classifier(0);
  Batch batch = test_support::random_ids_batch(11);
  torch::Tensor plain = eval_mode_logits(model, batch);
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm), 0);
  EXPECT_TRUE(model->last_layer_calibrates());
  torch::Tensor pruned = eval_mode_logits(model, batch);
  EXPECT_FALSE(torch::allclose(plain, pruned));
  // The same input gives the same masks, so the same logits.
  EXPECT_TRUE(torch::equal(pruned, eval_mode_logits(model, batch)));

  // Re-pruning weights only leaves the plain shortcut; so does removing pruning.
  prune_pass(model, weights_only(0.5, PruneMethod::l1_norm), 0);
  EXPECT_FALSE(model->last_layer_calibrates());
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm), 0);
  EXPECT_TRUE(model->last_layer_calibrates());
  // Random masks are positional: the plain shortcut draws the [CLS] row's part.
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::random), 0);
  EXPECT_FALSE(model->last_layer_calibrates());
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm), 0);
  EXPECT_EQ(remove_pruning(model), 14);
  EXPECT_FALSE(model->last_layer_calibrates());

  // A last layer set to compute every position stays so.
  model->set_cls_only_last_layer(false);
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm), 0);
  EXPECT_FALSE(model->cls_only_last_layer());
  EXPECT_FALSE(model->last_layer_calibrates());
}

TEST(PrunePass, RandomActivationsAtSparsityZeroChangeNothing) {
  auto weights = test_support::tiny_bert_classifier(0);
  auto both = test_support::tiny_bert_classifier(0);
  prune_pass(weights, weights_only(0.4, PruneMethod::random), 2);
  PruneConfig config = weights_only(0.4, PruneMethod::random);
  config.activation = PruneSettings{0.0, PruneMethod::random, PruneScope::local};  // as Mase's lab writes "off"
  prune_pass(both, config, 2);
  EXPECT_FALSE(both->last_layer_calibrates());
  Batch batch = test_support::random_ids_batch(11);
  EXPECT_TRUE(torch::equal(eval_mode_logits(weights, batch), eval_mode_logits(both, batch)));
}

// Appended last on an unpruned, unquantized model: records each Linear's input.
class InputLog : public model::LinearTransformImpl {
 public:
  std::string kind() const override { return "test_input_log"; }
  json describe() const override { return json::object(); }
  torch::Tensor transform_input(const torch::Tensor& input) override {
    inputs.push_back(input.detach().clone());
    return input;
  }
  std::vector<torch::Tensor> inputs;
};

TEST(PrunePass, GlobalL1ActivationThresholdComesFromTheCalibrationBatch) {
  Batch calibration = test_support::random_ids_batch(12);
  auto reference = test_support::tiny_bert_classifier(0);
  reference->set_cls_only_last_layer(false);
  auto log = std::make_shared<InputLog>();
  for (auto& [name, linear] : model::find_linears(*reference)) linear->attach(log);
  eval_mode_logits(reference, calibration);
  ASSERT_EQ(log->inputs.size(), 14u);
  float expected = magnitude_quantile(log->inputs, 0.4);

  auto model = test_support::tiny_bert_classifier(0);
  PruneConfig config = uniform_prune_config(0.4, PruneMethod::l1_norm, PruneScope::global);
  EXPECT_THROW(prune_pass(model, config, 0), Error);
  EXPECT_FALSE(model->classifier->find_transform<PruneTransformImpl>());  // left as it was
  model->train();
  prune_pass(model, config, 0, PruneCalibration{calibration.ids, calibration.attention});
  EXPECT_TRUE(model->is_training());
  EXPECT_TRUE(model->cls_only_last_layer());
  EXPECT_FALSE(model->last_layer_calibrates());  // a fixed threshold is elementwise
  for (auto& [name, linear] : model::find_linears(*model)) {
    auto buffers = prune_transform_of(linear)->named_buffers();
    ASSERT_TRUE(buffers.contains("activation_threshold")) << name;
    EXPECT_EQ(buffers["activation_threshold"].item<float>(), expected) << name;
    EXPECT_EQ(linear->transforms().size(), 1u) << name;  // the recorders are gone
  }
}

TEST(PrunePass, RejectsAConfigThatPrunesNothing) {
  auto model = test_support::tiny_bert_classifier(0);
  PruneConfig empty;
  empty.origin = "empty.toml";
  EXPECT_THROW(prune_pass(model, empty, 0), Error);
}

TEST(PrunePass, BakeWritesMaskedWeightsAndDetaches) {
  auto model = test_support::tiny_bert_classifier(0);
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm), 0);
  std::map<std::string, torch::Tensor> effective;
  for (auto& [name, linear] : model::find_linears(*model))
    effective[name] = linear->effective_weight().detach().clone();
  {  // the raw weight drifts where masked (an optimizer with old momentum may do that)
    torch::NoGradGuard no_grad;
    model->classifier->weight.add_(1.0);
  }
  std::vector<std::string> baked = bake_pruning(*model);
  EXPECT_EQ(baked.size(), 14u);
  EXPECT_FALSE(model->last_layer_calibrates());
  for (auto& [name, linear] : model::find_linears(*model)) {
    EXPECT_TRUE(linear->transforms().empty()) << name;
    if (name == "classifier") continue;
    EXPECT_TRUE(torch::equal(linear->weight.detach(), effective[name])) << name;
  }
  torch::Tensor classifier = model->classifier->weight.detach();
  EXPECT_EQ((classifier == 0).sum().item<int64_t>() * 2, classifier.numel());
}

TEST(PrunePass, RecordsAndRestoresTransformsWithoutComputingMasks) {
  auto model = test_support::tiny_bert_classifier(0);
  EXPECT_FALSE(record_pruning(model));
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm), 3);
  json record = *record_pruning(model);
  EXPECT_EQ(record["masks"], "stored");
  ASSERT_EQ(record["layers"].size(), 14u);
  json classifier = record["layers"]["classifier"];
  EXPECT_EQ(classifier["weight"]["sparsity"], 0.5);
  EXPECT_EQ(classifier["activation"]["method"], "l1-norm");
  EXPECT_EQ(classifier["activation_seed"], prune_transform_of(model->classifier)->activation_seed());

  auto fresh = test_support::tiny_bert_classifier(1);
  restore_recorded_pruning(fresh, record, "whittle.json [prune]");
  EXPECT_TRUE(fresh->last_layer_calibrates());
  for (auto& [name, linear] : model::find_linears(*fresh)) {
    auto transform = prune_transform_of(linear);
    ASSERT_TRUE(transform) << name;
    EXPECT_TRUE(transform->weight_mask().all().item<bool>()) << name;  // for the checkpoint to fill
    EXPECT_EQ(transform->weight_mask().sizes(), linear->weight.sizes()) << name;
  }

  json bad = record;
  bad["masks"] = "computed";
  EXPECT_THROW(restore_recorded_pruning(fresh, bad, "w"), Error);
  bad = record;
  bad["layers"]["bert.encoder.layer.9.output.dense"] = classifier;
  EXPECT_THROW(restore_recorded_pruning(fresh, bad, "w"), Error);
  bad = record;
  bad["layers"]["classifier"]["weight"]["method"] = "l3";
  EXPECT_THROW(restore_recorded_pruning(fresh, bad, "w"), Error);
  bad = record;
  bad["layers"]["classifier"].erase("activation_seed");
  EXPECT_THROW(restore_recorded_pruning(fresh, bad, "w"), Error);
}

}  // namespace
}  // namespace whittle::passes
