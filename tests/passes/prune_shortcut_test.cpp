// The [CLS]-only last layer under activation pruning (it calibrates where a
// mask depends on the values of its whole input): in evaluation it must give
// the logits of the full computation, whose masks see every position.
#include <gtest/gtest.h>

#include "support/model_batch.h"

#include "model/classifier_io.h"
#include "passes/prune/prune_pass.h"
#include "passes/prune/prune_transform.h"
#include "passes/quantize/quantize_pass.h"
#include "passes/quantize/quantize_transform.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

using model::InputStatisticMode;

model::BertConfig tiny_config(double dropout = 0.1) {
  model::BertConfig config;
  config.vocab_size = 100;
  config.hidden_size = 32;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 2;
  config.intermediate_size = 64;
  config.max_position_embeddings = 64;
  config.hidden_dropout_prob = dropout;
  config.attention_probs_dropout_prob = dropout;
  return config;
}

using Batch = test_support::ModelBatch;

// Right-padded to 24, two examples shorter than that.
Batch padded_batch() {
  torch::manual_seed(21);
  Batch batch{torch::randint(1, 100, {4, 24}, torch::kInt64), torch::ones({4, 24}, torch::kInt64),
              torch::tensor({0, 1, 1, 0}, torch::kInt64)};
  batch.attention[1].narrow(0, 9, 15).zero_();
  batch.attention[3].narrow(0, 20, 4).zero_();
  return batch;
}

// Evaluation mode. Without gradients the calibrated shortcut runs the last
// layer over every position; with them it records and replays.
torch::Tensor eval_logits(model::BertForSequenceClassification& model, const Batch& batch,
                          bool with_gradients = false) {
  torch::AutoGradMode grad_mode(with_gradients);
  model->eval();
  return model->forward(batch.ids, batch.attention).detach();
}

model::BertForSequenceClassification pruned_model(const PruneConfig& config, bool quantized,
                                                   double dropout = 0.1) {
  auto model = model::new_classifier(tiny_config(dropout), 0);
  if (quantized) quantize_pass(model, uniform_quantize_config(8, 4));
  prune_pass(model, config, 5);
  return model;
}

std::string max_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return "max |difference| " + std::to_string((a - b).abs().max().item<double>());
}

TEST(PruneShortcut, L1EvalLogitsAreTheFullComputationsBitForBit) {
  Batch batch = padded_batch();
  for (bool quantized : {false, true}) {
    for (double sparsity : {0.1, 0.3, 0.5, 0.7, 0.9}) {
      auto model = pruned_model(uniform_prune_config(sparsity, PruneMethod::l1_norm), quantized);
      ASSERT_TRUE(model->last_layer_calibrates());
      torch::Tensor calibrated = eval_logits(model, batch);
      model->set_cls_only_last_layer(false);
      torch::Tensor full = eval_logits(model, batch);
      EXPECT_TRUE(torch::equal(calibrated, full))
          << "sparsity " << sparsity << " quantized " << quantized << ": " << max_difference(calibrated, full);
    }
  }
}

// Placed right after the prune transform: logs the masked input.
class MaskedInputLog : public model::LinearTransformImpl {
 public:
  std::string kind() const override { return "test_masked_input_log"; }
  nlohmann::json describe() const override { return nlohmann::json::object(); }
  torch::Tensor transform_input(const torch::Tensor& input) override {
    last = input.detach().clone();
    return input;
  }
  torch::Tensor last;
};

std::vector<std::shared_ptr<MaskedInputLog>> log_last_layer_after_pruning(model::BertForSequenceClassification& model) {
  auto& layer = model->bert->encoder->layers.back();
  std::vector<std::shared_ptr<MaskedInputLog>> logs;
  for (auto linear : {layer->attention->self->query, layer->attention->output->dense, layer->intermediate->dense,
                      layer->output->dense}) {
    auto others = linear->detach(QuantizeTransformImpl::kKind);
    logs.push_back(std::make_shared<MaskedInputLog>());
    linear->attach(logs.back());
    for (const auto& other : others) linear->attach(other);
  }
  return logs;
}

TEST(PruneShortcut, ReplayedL1MasksOfTheClsRowAreTheFullComputations) {
  // With gradients the [CLS] row is recomputed alone with the recorded
  // thresholds; its products may round differently from the full
  // computation's, but no mask may change, and the logits stay close.
  Batch batch = padded_batch();
  int64_t masks_compared = 0;
  for (bool quantized : {false, true}) {
    for (double sparsity : {0.1, 0.3, 0.5, 0.7, 0.9}) {
      auto model = pruned_model(uniform_prune_config(sparsity, PruneMethod::l1_norm), quantized);
      auto logs = log_last_layer_after_pruning(model);
      torch::Tensor replayed = eval_logits(model, batch, true);
      std::vector<torch::Tensor> replayed_inputs;
      for (const auto& log : logs) replayed_inputs.push_back(log->last);
      model->set_cls_only_last_layer(false);
      torch::Tensor full = eval_logits(model, batch, true);
      std::string context = "sparsity " + std::to_string(sparsity) + " quantized " + std::to_string(quantized);
      EXPECT_TRUE(torch::allclose(replayed, full, 1e-5, 1e-6)) << context << ": " << max_difference(replayed, full);
      for (size_t i = 0; i < logs.size(); ++i) {
        torch::Tensor full_row = logs[i]->last.narrow(1, 0, 1);
        ASSERT_EQ(replayed_inputs[i].sizes(), full_row.sizes()) << context << " linear " << i;
        EXPECT_TRUE(torch::equal(replayed_inputs[i] == 0, full_row == 0)) << context << " linear " << i;
        EXPECT_TRUE(torch::allclose(replayed_inputs[i], full_row, 1e-5, 1e-6)) << context << " linear " << i;
        ++masks_compared;
      }
      // Pruned at about the sparsity: the masks are not trivially all-keep.
      double zeros = (replayed_inputs[2] == 0).to(torch::kFloat64).mean().item<double>();
      EXPECT_NEAR(zeros, sparsity, 0.2) << context;
    }
  }
  EXPECT_EQ(masks_compared, 40);
}

TEST(PruneShortcut, RandomEvalLogitsAreTheFullComputationsForwardAfterForward) {
  // Random masks are positional, so the plain [CLS]-only layer draws the
  // [CLS] row's part of the full computation's masks: no calibration pass.
  // Each forward advances every layer's draws, as the full computation's do,
  // or the next forward would differ.
  Batch batch = padded_batch();
  for (bool with_gradients : {false, true}) {
    for (bool quantized : {false, true}) {
      auto shortcut = pruned_model(uniform_prune_config(0.4, PruneMethod::random), quantized);
      auto full = pruned_model(uniform_prune_config(0.4, PruneMethod::random), quantized);
      ASSERT_TRUE(shortcut->cls_only_last_layer());
      ASSERT_FALSE(shortcut->last_layer_calibrates());
      full->set_cls_only_last_layer(false);
      torch::Tensor previous;
      for (int forward = 0; forward < 3; ++forward) {
        torch::Tensor expected = eval_logits(full, batch, with_gradients);
        torch::Tensor logits = eval_logits(shortcut, batch, with_gradients);
        std::string context = "forward " + std::to_string(forward) + " quantized " + std::to_string(quantized) +
                              " gradients " + std::to_string(with_gradients) + ": " + max_difference(logits, expected);
        // A product over the [CLS] row alone may round the last bit otherwise.
        EXPECT_TRUE(torch::allclose(logits, expected, 1e-5, 1e-6)) << context;
        if (previous.defined()) EXPECT_FALSE(torch::allclose(logits, previous)) << context;  // fresh masks
        previous = logits;
      }
    }
  }
}

TEST(PruneShortcut, OnlyValueStatisticsNeedTheCalibratedShortcut) {
  auto l1 = pruned_model(uniform_prune_config(0.4, PruneMethod::l1_norm), true);
  EXPECT_TRUE(l1->cls_only_last_layer());
  EXPECT_TRUE(l1->last_layer_calibrates());
  auto random = pruned_model(uniform_prune_config(0.4, PruneMethod::random), true);
  EXPECT_TRUE(random->cls_only_last_layer());
  EXPECT_FALSE(random->last_layer_calibrates());
  // Weights alone leave every row of every input independent.
  auto weights = pruned_model(uniform_prune_config(0.4, PruneMethod::l1_norm, PruneScope::local, false), true);
  EXPECT_FALSE(weights->last_layer_calibrates());
}

class WithoutDropout : public ::testing::TestWithParam<PruneMethod> {};

TEST_P(WithoutDropout, TrainingGradientsAreTheFullComputations) {
  // Training differs from evaluation only by dropout: without it the
  // shortcut's loss and gradients are the full computation's, up to the
  // summation order of the products.
  Batch batch = padded_batch();
  auto calibrated = pruned_model(uniform_prune_config(0.5, GetParam()), true, 0.0);
  auto full = pruned_model(uniform_prune_config(0.5, GetParam()), true, 0.0);
  full->set_cls_only_last_layer(false);
  std::vector<torch::Tensor> losses;
  for (auto* model : {&calibrated, &full}) {
    (*model)->train();
    losses.push_back(torch::cross_entropy_loss((*model)->forward(batch.ids, batch.attention), batch.labels));
    losses.back().backward();
  }
  EXPECT_TRUE(torch::allclose(losses[0], losses[1], 1e-6, 1e-7)) << max_difference(losses[0], losses[1]);
  auto full_parameters = full->named_parameters();
  int64_t compared = 0;
  for (const auto& item : calibrated->named_parameters()) {
    const torch::Tensor& expected = full_parameters[item.key()].grad();
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_TRUE(torch::allclose(item.value().grad(), expected, 1e-4, 1e-6))
        << item.key() << ": " << max_difference(item.value().grad(), expected);
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int64_t>(full_parameters.size()));
}

INSTANTIATE_TEST_SUITE_P(PruneShortcut, WithoutDropout, ::testing::Values(PruneMethod::l1_norm, PruneMethod::random),
                         [](const auto& info) { return info.param == PruneMethod::random ? "random" : "l1"; });

TEST(PruneShortcut, TrainsWithDropout) {
  Batch batch = padded_batch();
  auto model = pruned_model(uniform_prune_config(0.5, PruneMethod::l1_norm), true);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-2));
  model->train();
  double first_loss = 0.0, last_loss = 0.0;
  for (int step = 0; step < 8; ++step) {
    optimizer.zero_grad();
    torch::Tensor loss = torch::cross_entropy_loss(model->forward(batch.ids, batch.attention), batch.labels);
    loss.backward();
    optimizer.step();
    (step == 0 ? first_loss : last_loss) = loss.item<double>();
  }
  EXPECT_TRUE(std::isfinite(last_loss));
  EXPECT_LT(last_loss, first_loss);
  auto query = model->bert->encoder->layers[1]->attention->self->query->find_transform<PruneTransformImpl>();
  EXPECT_TRUE(query->weight_mask().defined());
  EXPECT_GT(model->bert->encoder->layers[1]->attention->self->query->weight.grad().abs().sum().item<double>(), 0.0);
}

PruneSettings local(double sparsity, PruneMethod method) { return {sparsity, method, PruneScope::local}; }

TEST(PruneTransformStatistic, ReplaysTheRecordedThreshold) {
  PruneTransform transform(torch::Tensor(), std::nullopt, local(0.5, PruneMethod::l1_norm), 0);
  EXPECT_TRUE(transform->has_input_statistic());
  torch::Tensor whole = torch::tensor({{{1.0f, -2.0f}, {3.0f, -4.0f}}});  // [1, 2, 2]: threshold 2.5
  transform->set_input_statistic_mode(InputStatisticMode::record);
  EXPECT_TRUE(torch::equal(transform->transform_input(whole), torch::tensor({{{0.0f, -0.0f}, {3.0f, -4.0f}}})));
  transform->set_input_statistic_mode(InputStatisticMode::replay);
  // The first row alone would have threshold 1.5 and keep the -2.
  EXPECT_TRUE(torch::equal(transform->transform_input(whole.narrow(1, 0, 1)), torch::tensor({{{0.0f, -0.0f}}})));
  transform->set_input_statistic_mode(InputStatisticMode::compute);
  EXPECT_TRUE(torch::equal(transform->transform_input(whole.narrow(1, 0, 1)), torch::tensor({{{0.0f, -2.0f}}})));
  transform->set_input_statistic_mode(InputStatisticMode::replay);  // the record was dropped
  EXPECT_THROW(transform->transform_input(whole), Error);

  transform->set_input_statistic_mode(InputStatisticMode::record);
  transform->record_input_statistic(whole * 10);
  transform->set_input_statistic_mode(InputStatisticMode::replay);
  EXPECT_TRUE(torch::equal(transform->transform_input(whole), torch::zeros_like(whole).mul_(whole.sign())));
}

TEST(PruneTransformStatistic, ReplaysTheLeadingRowsOfTheRecordedRandomMask) {
  PruneTransform transform(torch::Tensor(), std::nullopt, local(0.5, PruneMethod::random), 3);
  PruneTransform reference(torch::Tensor(), std::nullopt, local(0.5, PruneMethod::random), 3);
  torch::Tensor whole = torch::randn({3, 8, 16});
  transform->set_input_statistic_mode(InputStatisticMode::record);
  torch::Tensor masked = transform->transform_input(whole);
  EXPECT_TRUE(torch::equal(masked, reference->transform_input(whole)));
  transform->set_input_statistic_mode(InputStatisticMode::replay);
  EXPECT_TRUE(torch::equal(transform->transform_input(whole.narrow(1, 0, 1)), masked.narrow(1, 0, 1)));
  EXPECT_TRUE(torch::equal(transform->transform_input(whole), masked));
  EXPECT_THROW(transform->transform_input(torch::randn({3, 9, 16})), Error);
  EXPECT_THROW(transform->transform_input(torch::randn({2, 1, 16})), Error);
  // Replay draws nothing: back in compute mode the generator continues where
  // the record left it, as the reference's does.
  transform->set_input_statistic_mode(InputStatisticMode::compute);
  EXPECT_TRUE(torch::equal(transform->transform_input(whole), reference->transform_input(whole)));
}

TEST(PruneTransformStatistic, DrawsTheLeadingRowsOfTheWholeInputsRandomMask) {
  PruneTransform transform(torch::Tensor(), std::nullopt, local(0.5, PruneMethod::random), 3);
  PruneTransform reference(torch::Tensor(), std::nullopt, local(0.5, PruneMethod::random), 3);
  EXPECT_TRUE(transform->input_statistic_is_positional());
  torch::Tensor whole = torch::randn({3, 8, 16});
  for (int draw = 0; draw < 2; ++draw) {
    torch::Tensor expected = reference->transform_input(whole).narrow(1, 0, 2);
    transform->set_whole_rows(8);
    EXPECT_TRUE(torch::equal(transform->transform_input(whole.narrow(1, 0, 2)), expected)) << draw;
    transform->set_whole_rows(0);
  }
  EXPECT_TRUE(torch::equal(transform->transform_input(whole), reference->transform_input(whole)));
  transform->set_whole_rows(8);
  EXPECT_THROW(transform->transform_input(torch::randn({3, 9, 16})), Error);
  PruneTransform l1(torch::Tensor(), std::nullopt, local(0.5, PruneMethod::l1_norm), 3);
  EXPECT_FALSE(l1->input_statistic_is_positional());
}

TEST(PruneTransformStatistic, OnlyWholeInputMasksAreStatistics) {
  PruneTransform weights(torch::ones({2, 2}, torch::kBool), local(0.5, PruneMethod::l1_norm), std::nullopt, 0);
  EXPECT_FALSE(weights->has_input_statistic());
  PruneTransform global(torch::Tensor(), std::nullopt, PruneSettings{0.5, PruneMethod::l1_norm, PruneScope::global},
                        0, 0.5f);
  EXPECT_FALSE(global->has_input_statistic());
  PruneTransform random_off(torch::Tensor(), std::nullopt, local(0.0, PruneMethod::random), 0);
  EXPECT_FALSE(random_off->has_input_statistic());
}

}  // namespace
}  // namespace whittle::passes
