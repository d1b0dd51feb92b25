// whittle's classifier against an independent implementation: logits that
// scripts/fixtures/make_reference_logits.py computed in float64 with its own
// PyTorch BERT, for a padded batch, as loaded, 8-bit quantized, and 8-bit
// quantized with L1-norm pruning of weights and inputs at 0.5.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "model/classifier_io.h"
#include "passes/prune/prune_config.h"
#include "passes/prune/prune_pass.h"
#include "passes/quantize/quantize_config.h"
#include "passes/quantize/quantize_pass.h"
#include "support/model_batch.h"
#include "util/atomic_file.h"

namespace whittle::passes {
namespace {

const std::filesystem::path kReference = std::filesystem::path(WHITTLE_TEST_FIXTURES) / "reference";

nlohmann::json expected() { return nlohmann::json::parse(read_file(kReference / "expected.json")); }

// A JSON matrix (rows of numbers) as a tensor of `dtype`.
template <typename T>
torch::Tensor matrix(const nlohmann::json& rows, torch::Dtype dtype) {
  auto values = rows.get<std::vector<std::vector<T>>>();
  torch::Tensor tensor =
      torch::empty({static_cast<int64_t>(values.size()), static_cast<int64_t>(values[0].size())}, dtype);
  for (size_t r = 0; r < values.size(); ++r) {
    for (size_t c = 0; c < values[r].size(); ++c) tensor[r][c] = values[r][c];
  }
  return tensor;
}

test_support::ModelBatch reference_batch() {
  nlohmann::json reference = expected();
  return {matrix<int64_t>(reference.at("input_ids"), torch::kInt64),
          matrix<int64_t>(reference.at("attention_mask"), torch::kInt64), {}};
}

double largest_difference(const torch::Tensor& ours, const nlohmann::json& theirs) {
  return (ours.to(torch::kFloat64) - matrix<double>(theirs, torch::kFloat64)).abs().max().item<double>();
}

model::BertForSequenceClassification reference_model() { return model::load_classifier(kReference, 0).model; }

TEST(ReferenceLogits, TheFloatClassifierMatchesAnIndependentImplementation) {
  auto model = reference_model();
  torch::Tensor logits = test_support::eval_mode_logits(model, reference_batch());
  EXPECT_LT(largest_difference(logits, expected().at("logits").at("float")), 1e-5);
}

// Every product of two 1/16 steps is a multiple of 1/256 and the sums stay
// small, so float32 carries the quantized logits exactly: bit for bit.
TEST(ReferenceLogits, The8BitClassifierMatchesBitForBit) {
  auto model = reference_model();
  quantize_pass(model, uniform_quantize_config(8, 4));
  torch::Tensor logits = test_support::eval_mode_logits(model, reference_batch());
  EXPECT_EQ(largest_difference(logits, expected().at("logits").at("quantized")), 0.0);
}

TEST(ReferenceLogits, L1PruningOfWeightsAndInputsMatchesBitForBit) {
  auto model = reference_model();
  quantize_pass(model, uniform_quantize_config(8, 4));
  prune_pass(model, uniform_prune_config(0.5, PruneMethod::l1_norm, PruneScope::local, true), 0);
  torch::Tensor logits = test_support::eval_mode_logits(model, reference_batch());
  EXPECT_EQ(largest_difference(logits, expected().at("logits").at("pruned")), 0.0);
}

}  // namespace
}  // namespace whittle::passes
