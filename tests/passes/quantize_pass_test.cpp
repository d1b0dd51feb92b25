#include <gtest/gtest.h>

#include <set>

#include "model/classifier_io.h"
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

std::set<std::string> expected_linear_names() {
  std::set<std::string> names = {"bert.pooler.dense", "classifier"};
  for (int layer = 0; layer < 2; ++layer) {
    std::string prefix = "bert.encoder.layer." + std::to_string(layer) + ".";
    for (const char* suffix : {"attention.self.query", "attention.self.key", "attention.self.value",
                               "attention.output.dense", "intermediate.dense", "output.dense"}) {
      names.insert(prefix + suffix);
    }
  }
  return names;
}

IntegerQuantization uniform(int64_t width, int64_t frac) { return {{width, frac}, {width, frac}, {width, frac}}; }

std::vector<std::shared_ptr<QuantizeTransformImpl>> quantize_transforms(torch::nn::Module& root) {
  std::vector<std::shared_ptr<QuantizeTransformImpl>> found;
  for (auto& [name, linear] : model::find_linears(root)) {
    for (const auto& transform : linear->transforms()) {
      if (auto typed = std::dynamic_pointer_cast<QuantizeTransformImpl>(transform)) found.push_back(typed);
    }
  }
  return found;
}

TEST(QuantizePass, AttachesToAllFourteenLinearsOfATwoLayerBert) {
  auto model = test_support::tiny_bert_classifier(1);
  QuantizeReport report = quantize_pass(model, uniform_quantize_config(8));
  ASSERT_EQ(report.layers.size(), 14u);
  EXPECT_EQ(report.quantized_count(), 14);
  std::set<std::string> names;
  for (const auto& layer : report.layers) {
    names.insert(layer.name);
    EXPECT_EQ(layer.quantization, uniform(8, 4)) << layer.name;
  }
  EXPECT_EQ(names, expected_linear_names());
  for (auto& [name, linear] : model::find_linears(*model)) {
    ASSERT_EQ(linear->transforms().size(), 1u) << name;
    EXPECT_EQ(linear->transforms()[0]->kind(), "quantize");
    EXPECT_EQ(linear->transforms()[0]->describe(),
              json::parse(R"({"name": "integer", "data_in_width": 8, "data_in_frac_width": 4, "weight_width": 8,
                              "weight_frac_width": 4, "bias_width": 8, "bias_frac_width": 4})"));
  }
  json summary = to_json(report);
  EXPECT_EQ(summary["quantized"], 14);
  EXPECT_EQ(summary["layers"]["classifier"]["weight_width"], 8);
}

TEST(QuantizePass, SixteenBitsStayCloseAndFourBitsDrift) {
  // Weights ten times BERT's usual spread, so that 4-bit weights (steps of
  // 1/4) are not all zero and the logits are not all tiny.
  model::BertConfig config = test_support::tiny_bert_config();
  config.initializer_range = 0.2;
  auto model = model::new_classifier(config, 2);
  Batch batch = test_support::random_ids_batch(11);
  torch::Tensor original = eval_mode_logits(model, batch);

  quantize_pass(model, uniform_quantize_config(16));  // steps of 1/256
  double drift16 = (eval_mode_logits(model, batch) - original).abs().max().item<double>();
  quantize_pass(model, uniform_quantize_config(4));  // steps of 1/4, range ±2
  double drift4 = (eval_mode_logits(model, batch) - original).abs().max().item<double>();

  double scale = original.abs().max().item<double>();
  EXPECT_GT(drift16, 0.0);
  EXPECT_LT(drift16, 0.05 * scale);
  EXPECT_GT(drift4, 0.25 * scale);
  EXPECT_GT(drift4, 10 * drift16);
}

TEST(QuantizePass, ForwardEqualsAHandQuantizedLinear) {
  auto model = test_support::tiny_bert_classifier(3);
  quantize_pass(model, uniform_quantize_config(6, 3));
  auto& pooler = model->bert->pooler->dense;
  torch::manual_seed(5);
  torch::Tensor x = torch::randn({3, 32}) * 2;
  torch::Tensor expected = torch::linear(fixed_point_quantize_reference(x, 6, 3),
                                         fixed_point_quantize_reference(pooler->weight, 6, 3),
                                         fixed_point_quantize_reference(pooler->bias, 6, 3));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(pooler->forward(x), expected));
}

TEST(QuantizePass, ReplacesAnExistingQuantization) {
  auto model = test_support::tiny_bert_classifier(4);
  Batch batch = test_support::random_ids_batch(11);
  quantize_pass(model, uniform_quantize_config(4, 2));
  quantize_pass(model, uniform_quantize_config(8, 4));
  auto transforms = quantize_transforms(*model);
  ASSERT_EQ(transforms.size(), 14u);
  for (const auto& transform : transforms) EXPECT_EQ(transform->quantization(), uniform(8, 4));

  auto fresh = test_support::tiny_bert_classifier(4);
  quantize_pass(fresh, uniform_quantize_config(8, 4));
  EXPECT_TRUE(torch::equal(eval_mode_logits(model, batch), eval_mode_logits(fresh, batch)));
}

TEST(QuantizePass, LeavesNaLayersFloatAndRemovesTheirOldQuantization) {
  auto model = test_support::tiny_bert_classifier(5);
  quantize_pass(model, uniform_quantize_config(8));
  json document = {{"by", "name"},
                   {"default", {{"config", {{"name", "integer"}, {"data_in_width", 6}, {"data_in_frac_width", 3},
                                            {"weight_width", 6}, {"weight_frac_width", 3}, {"bias_width", 6},
                                            {"bias_frac_width", 3}}}}},
                   {"classifier", {{"config", {{"name", "NA"}}}}},
                   {"bert_pooler_dense", {{"config", {{"name", "NA"}}}}}};
  QuantizeReport report = quantize_pass(model, parse_quantize_config(document, "test"));
  EXPECT_EQ(report.quantized_count(), 12);
  EXPECT_TRUE(model->classifier->transforms().empty());
  EXPECT_TRUE(model->bert->pooler->dense->transforms().empty());
  auto query = model->bert->encoder->layers[1]->attention->self->query->find_transform<QuantizeTransformImpl>();
  ASSERT_TRUE(query);
  EXPECT_EQ(query->quantization(), uniform(6, 3));
}

TEST(QuantizePass, RejectsConfigsThatDoNotFitTheModelAndLeavesItUnchanged) {
  auto model = test_support::tiny_bert_classifier(6);
  quantize_pass(model, uniform_quantize_config(8));
  json typo = {{"by", "name"}, {"bert.pooler.dens", {{"config", {{"name", "NA"}}}}}};
  try {
    quantize_pass(model, parse_quantize_config(typo, "typo.json"));
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("typo.json: section \"bert.pooler.dens\" selects no Linear layer"),
              std::string::npos)
        << error.what();
  }
  json overlapping = {{"by", "regex_name"},
                      {".*query", {{"config", {{"name", "NA"}}}}},
                      {".*self.*", {{"config", {{"name", "NA"}}}}}};
  EXPECT_THROW(quantize_pass(model, parse_quantize_config(overlapping, "overlap.json")), Error);
  auto transforms = quantize_transforms(*model);
  ASSERT_EQ(transforms.size(), 14u);
  for (const auto& transform : transforms) EXPECT_EQ(transform->quantization(), uniform(8, 4));
}

TEST(QuantizePass, ReappliesFromTheStoredJson) {
  auto model = test_support::tiny_bert_classifier(7);
  auto copy = test_support::tiny_bert_classifier(7);
  Batch batch = test_support::random_ids_batch(11);
  json regex = {{"by", "regex_name"},
                {"default", {{"config", {{"name", "integer"}, {"data_in_width", 8}, {"data_in_frac_width", 4},
                                         {"weight_width", 8}, {"weight_frac_width", 4}, {"bias_width", 8},
                                         {"bias_frac_width", 4}}}}},
                {".*intermediate.*", {{"config", {{"name", "integer"}, {"data_in_width", 5}, {"data_in_frac_width", 2},
                                                  {"weight_width", 7}, {"weight_frac_width", 3}, {"bias_width", 9},
                                                  {"bias_frac_width", 4}}}}}};
  QuantizeConfig config = parse_quantize_config(regex, "test");
  quantize_pass(model, config);
  json stored = json::parse(to_json(config).dump());  // as written to and read from whittle.json
  quantize_pass(copy, parse_quantize_config(stored, "whittle.json"));
  EXPECT_TRUE(torch::equal(eval_mode_logits(model, batch), eval_mode_logits(copy, batch)));
  auto intermediate = copy->bert->encoder->layers[0]->intermediate->dense->find_transform<QuantizeTransformImpl>();
  ASSERT_TRUE(intermediate);
  EXPECT_EQ(intermediate->quantization(), (IntegerQuantization{{5, 2}, {7, 3}, {9, 4}}));
}

TEST(QuantizePass, RemovalRestoresTheFloatModel) {
  auto model = test_support::tiny_bert_classifier(8);
  Batch batch = test_support::random_ids_batch(11);
  torch::Tensor original = eval_mode_logits(model, batch);
  quantize_pass(model, uniform_quantize_config(4));
  EXPECT_FALSE(torch::equal(eval_mode_logits(model, batch), original));
  EXPECT_EQ(remove_quantization(*model), 14);
  EXPECT_TRUE(torch::equal(eval_mode_logits(model, batch), original));
  EXPECT_EQ(remove_quantization(*model), 0);
}

TEST(QuantizePass, BakingWritesQuantizedWeightsAndDetaches) {
  auto model = test_support::tiny_bert_classifier(9);
  // Inputs at 32 bits with 20 fractional bits pass almost unchanged, so the
  // baked float model must match the quantized one closely.
  json document = {{"by", "type"},
                   {"linear", {{"config", {{"name", "integer"}, {"data_in_width", 32}, {"data_in_frac_width", 20},
                                           {"weight_width", 6}, {"weight_frac_width", 5}, {"bias_width", 6},
                                           {"bias_frac_width", 5}}}}}};
  quantize_pass(model, parse_quantize_config(document, "test"));
  Batch batch = test_support::random_ids_batch(11);
  torch::Tensor quantized_logits = eval_mode_logits(model, batch);
  torch::Tensor query_weight = model->bert->encoder->layers[0]->attention->self->query->weight.clone();
  torch::Tensor classifier_bias = model->classifier->bias.clone();

  std::vector<std::string> baked = bake_quantization(*model);
  EXPECT_EQ(baked.size(), 14u);
  EXPECT_TRUE(quantize_transforms(*model).empty());
  EXPECT_TRUE(torch::equal(model->bert->encoder->layers[0]->attention->self->query->weight,
                           fixed_point_quantize_reference(query_weight, 6, 5)));
  EXPECT_TRUE(torch::equal(model->classifier->bias, fixed_point_quantize_reference(classifier_bias, 6, 5)));
  EXPECT_TRUE(torch::allclose(eval_mode_logits(model, batch), quantized_logits, 1e-4, 1e-4));
  // The baked weights are on the grid: baking again changes nothing.
  torch::Tensor baked_weight = model->classifier->weight.clone();
  quantize_pass(model, parse_quantize_config(document, "test"));
  bake_quantization(*model);
  EXPECT_TRUE(torch::equal(model->classifier->weight, baked_weight));
}

TEST(QuantizePass, GradientsReachTheFloatWeights) {
  auto model = test_support::tiny_bert_classifier(10);
  quantize_pass(model, uniform_quantize_config(8));
  model->train();
  Batch batch = test_support::random_ids_batch(11);
  torch::Tensor loss = torch::cross_entropy_loss(model->forward(batch.ids, batch.attention), torch::tensor({0, 1, 0, 1}));
  loss.backward();
  for (auto& [name, linear] : model::find_linears(*model)) {
    ASSERT_TRUE(linear->weight.grad().defined()) << name;
    EXPECT_GT(linear->weight.grad().abs().sum().item<double>(), 0.0) << name;
  }
}

TEST(QuantizeTransform, RejectsInvalidFormats) {
  EXPECT_THROW(QuantizeTransform(IntegerQuantization{{8, 4}, {0, 0}, {8, 4}}), Error);
}

}  // namespace
}  // namespace whittle::passes
