#include "experiments/model_size.h"

#include <gtest/gtest.h>

#include "model/classifier_io.h"
#include "passes/prune/prune_pass.h"
#include "passes/prune/prune_transform.h"
#include "passes/quantize/quantize_pass.h"
#include "util/error.h"
#include "support/tiny_bert.h"

namespace whittle::experiments {
namespace {

// vocab 100, hidden 32, 2 layers, intermediate 64, 64 positions, 2 labels.
model::BertConfig tiny_config() { return test_support::tiny_bert_config(); }

// Counted by hand from tiny_config():
//   per layer  Q, K, V, attention output 4 × 32·32 = 4096, intermediate 32·64 = 2048,
//              output 64·32 = 2048 → 8192 weights; biases 4·32 + 64 + 32 = 224
//   pooler     32·32 = 1024 weights, 32 biases; classifier 32·2 = 64 weights, 2 biases
//   Linears    2·8192 + 1024 + 64 = 17472 weights, 2·224 + 32 + 2 = 482 biases
//   the rest   word 100·32 = 3200, position 64·32 = 2048, token type 2·32 = 64,
//              LayerNorms (1 + 2·2) × (32 + 32) = 320 → 5632
constexpr int64_t kLinearWeights = 17472;
constexpr int64_t kLinearBiases = 482;
constexpr int64_t kOtherParameters = 5632;

TEST(ModelSize, AnUncompressedModelIsThirtyTwoBitsPerParameter) {
  auto model = model::new_classifier(tiny_config(), 0);
  ModelSize size = measure_model_size(model);
  EXPECT_EQ(size.linears.size(), 14u);
  EXPECT_EQ(size.linear_weights, kLinearWeights);
  EXPECT_EQ(size.linear_kept_weights, kLinearWeights);
  EXPECT_EQ(size.linear_biases, kLinearBiases);
  EXPECT_EQ(size.other_parameters, kOtherParameters);
  EXPECT_EQ(size.linear_weight_bits, kLinearWeights * 32);
  EXPECT_EQ(size.linear_bias_bits, kLinearBiases * 32);
  EXPECT_EQ(size.other_bits, kOtherParameters * 32);
  EXPECT_EQ(size.total_bits(), (kLinearWeights + kLinearBiases + kOtherParameters) * 32);
  int64_t all_parameters = 0;
  for (const auto& parameter : model->parameters()) all_parameters += parameter.numel();
  EXPECT_EQ(size.parameters(), all_parameters);
  // Fresh biases are zero; fresh weights are not.
  EXPECT_EQ(size.linear_nonzero_weights, kLinearWeights);
  EXPECT_EQ(size.linear_nonzero_biases, 0);
}

TEST(ModelSize, QuantizationAtEightBitsCountsEightBitsPerLinearParameter) {
  auto model = model::new_classifier(tiny_config(), 0);
  passes::quantize_pass(model, passes::uniform_quantize_config(8));
  ModelSize size = measure_model_size(model);
  EXPECT_EQ(size.linear_weight_bits, kLinearWeights * 8);  // 139776
  EXPECT_EQ(size.linear_bias_bits, kLinearBiases * 8);      // 3856
  EXPECT_EQ(size.linear_bits(), 143632);
  EXPECT_EQ(size.other_bits, kOtherParameters * 32);  // embeddings and LayerNorms stay float
  EXPECT_EQ(size.total_bits(), 143632 + 180224);
  for (const auto& layer : size.linears) {
    EXPECT_EQ(layer.weight_width, 8) << layer.name;
    EXPECT_EQ(layer.bias_width, 8) << layer.name;
  }
}

TEST(ModelSize, WeightAndBiasWidthsAreCountedSeparatelyAndUnquantizedLayersStayFloat) {
  auto model = model::new_classifier(tiny_config(), 0);
  passes::QuantizeConfig config;
  config.by = passes::QuantizeSelection::name;
  config.default_config = passes::IntegerQuantization{{8, 4}, {4, 2}, {16, 8}};
  config.sections["classifier"] = std::nullopt;  // Mase's "NA"
  passes::quantize_pass(model, config);
  ModelSize size = measure_model_size(model);
  // The classifier (64 weights, 2 biases) at 32 bits, every other Linear at 4 / 16.
  EXPECT_EQ(size.linear_weight_bits, (kLinearWeights - 64) * 4 + 64 * 32);
  EXPECT_EQ(size.linear_bias_bits, (kLinearBiases - 2) * 16 + 2 * 32);
  const LinearSize& classifier = size.linears.back();
  ASSERT_EQ(classifier.name, "classifier");
  EXPECT_EQ(classifier.weight_width, 32);
  EXPECT_EQ(classifier.weight_bits(), 64 * 32);
}

TEST(ModelSize, PruningAtHalfSparsityHalvesTheStoredWeightsButNotTheBiases) {
  auto model = model::new_classifier(tiny_config(), 0);
  passes::prune_pass(model, passes::uniform_prune_config(0.5, passes::PruneMethod::l1_norm), 0);
  ModelSize size = measure_model_size(model);
  EXPECT_EQ(size.linear_weights, kLinearWeights);
  EXPECT_EQ(size.linear_kept_weights, kLinearWeights / 2);  // 8736: every layer has an even count
  EXPECT_EQ(size.linear_nonzero_weights, kLinearWeights / 2);
  EXPECT_EQ(size.linear_weight_bits, kLinearWeights / 2 * 32);
  EXPECT_EQ(size.linear_bias_bits, kLinearBiases * 32);
  // Masks are buffers, not parameters: the rest of the model is unchanged.
  EXPECT_EQ(size.other_parameters, kOtherParameters);
}

TEST(ModelSize, PrunedAndQuantizedModelCountsKeptWeightsAtTheQuantizedWidth) {
  auto model = model::new_classifier(tiny_config(), 0);
  passes::quantize_pass(model, passes::uniform_quantize_config(8));
  passes::prune_pass(model, passes::uniform_prune_config(0.5, passes::PruneMethod::l1_norm), 0);
  ModelSize size = measure_model_size(model);
  EXPECT_EQ(size.linear_weight_bits, 8736 * 8);  // 69888
  EXPECT_EQ(size.linear_bias_bits, 482 * 8);
  EXPECT_EQ(size.total_bits(), 69888 + 3856 + 180224);
  // 8-bit fixed point with 4 fractional bits rounds most of BERT's small
  // initial weights to zero: reported, but not subtracted from the size.
  EXPECT_LT(size.linear_nonzero_weights, size.linear_kept_weights);

  nlohmann::json json = to_json(size);
  EXPECT_EQ(json.at("total_bits").get<int64_t>(), size.total_bits());
  EXPECT_EQ(json.at("linear_bits").get<int64_t>(), 69888 + 3856);
  EXPECT_EQ(json.at("other_bits").get<int64_t>(), 180224);
  EXPECT_EQ(json.at("linears").size(), 14u);
  EXPECT_EQ(json.at("linears").at("classifier").at("kept_weights").get<int64_t>(), 32);
  EXPECT_EQ(json.at("linears").at("classifier").at("weight_width").get<int64_t>(), 8);
}

TEST(ModelSize, AWeightMaskOfTheWrongShapeIsAnErrorNamingTheLayer) {
  auto model = model::new_classifier(tiny_config(), 0);
  model->classifier->attach(std::make_shared<passes::PruneTransformImpl>(
      torch::ones({3, 3}, torch::kBool), passes::PruneSettings{}, std::nullopt, 0));
  try {
    measure_model_size(model);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("classifier"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace whittle::experiments
