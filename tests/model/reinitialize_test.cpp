#include "model/reinitialize.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "model/classifier_io.h"
#include "support/error_message.h"
#include "support/tiny_bert.h"

namespace whittle::model {
namespace {

// Hidden 64 gives query/key matrices of 4,096 weights: enough for their
// spread to be measured to about 2%.
BertConfig reinit_config() { return test_support::tiny_bert_config({.hidden = 64, .intermediate = 128}); }

// A model unlike a fresh initialisation everywhere (LayerNorms and biases
// included), so that any tensor a re-initialisation touches shows it.
BertForSequenceClassification perturbed_model() {
  auto model = new_classifier(reinit_config(), 0);
  torch::NoGradGuard no_grad;
  auto generator = at::detail::createCPUGenerator(7);
  for (auto& parameter : model->parameters()) parameter.uniform_(-1.0, 1.0, generator);
  return model;
}

std::map<std::string, torch::Tensor> snapshot(BertForSequenceClassification& model) {
  std::map<std::string, torch::Tensor> values;
  for (const auto& item : model->named_parameters()) values[item.key()] = item.value().detach().clone();
  return values;
}

std::set<std::string> changed_parameters(BertForSequenceClassification& model,
                                         const std::map<std::string, torch::Tensor>& before) {
  std::set<std::string> changed;
  for (const auto& item : model->named_parameters()) {
    if (!torch::equal(item.value(), before.at(item.key()))) changed.insert(item.key());
  }
  return changed;
}

TEST(Reinitialize, QueryKeyScopeReplacesOnlyTheTopLayersQueryAndKey) {
  auto model = perturbed_model();
  auto before = snapshot(model);
  auto replaced = reinitialize_top_layers(model, {.top_layers = 1, .scope = ReinitScope::query_key, .seed = 3});

  const std::set<std::string> expected = {
      "bert.encoder.layer.1.attention.self.query.weight", "bert.encoder.layer.1.attention.self.query.bias",
      "bert.encoder.layer.1.attention.self.key.weight", "bert.encoder.layer.1.attention.self.key.bias"};
  EXPECT_EQ(std::set<std::string>(replaced.begin(), replaced.end()), expected);
  EXPECT_EQ(changed_parameters(model, before), expected);
}

TEST(Reinitialize, DrawsBertsInitialisation) {
  auto model = perturbed_model();
  reinitialize_top_layers(model, {.top_layers = 2, .scope = ReinitScope::query_key, .seed = 3});
  const double range = model->config().initializer_range;
  for (auto& layer : model->bert->encoder->layers) {
    auto& self = layer->attention->self;
    for (auto* linear : {self->query.get(), self->key.get()}) {
      EXPECT_NEAR(linear->weight.mean().item<double>(), 0.0, 0.05 * range);
      EXPECT_NEAR(linear->weight.std().item<double>(), range, 0.05 * range);
      EXPECT_EQ(linear->bias.abs().max().item<float>(), 0.0f);
    }
    // One generator across modules: query and key are different draws.
    EXPECT_FALSE(torch::equal(self->query->weight, self->key->weight));
  }
  EXPECT_FALSE(torch::equal(model->bert->encoder->layers[0]->attention->self->query->weight,
                            model->bert->encoder->layers[1]->attention->self->query->weight));
}

TEST(Reinitialize, LayerScopeReplacesWholeLayersAndNothingElse) {
  auto model = perturbed_model();
  auto before = snapshot(model);
  auto replaced = reinitialize_top_layers(model, {.top_layers = 1, .scope = ReinitScope::layer, .seed = 3});

  std::set<std::string> top_layer;
  for (const auto& item : before) {
    if (item.first.starts_with("bert.encoder.layer.1.")) top_layer.insert(item.first);
  }
  EXPECT_EQ(top_layer.size(), 16u);  // q, k, v, attention output, its LayerNorm, FFN in/out, LayerNorm
  EXPECT_EQ(std::set<std::string>(replaced.begin(), replaced.end()), top_layer);
  EXPECT_EQ(changed_parameters(model, before), top_layer);
  auto& norm = model->bert->encoder->layers[1]->output->layer_norm;
  EXPECT_TRUE(torch::equal(norm->weight, torch::ones_like(norm->weight)));
}

TEST(Reinitialize, SameSeedSameWeights) {
  auto first = perturbed_model();
  auto second = perturbed_model();
  reinitialize_top_layers(first, {.top_layers = 1, .scope = ReinitScope::query_key, .seed = 11});
  reinitialize_top_layers(second, {.top_layers = 1, .scope = ReinitScope::query_key, .seed = 11});
  auto& a = first->bert->encoder->layers[1]->attention->self->key->weight;
  auto& b = second->bert->encoder->layers[1]->attention->self->key->weight;
  EXPECT_TRUE(torch::equal(a, b));
  auto third = perturbed_model();
  reinitialize_top_layers(third, {.top_layers = 1, .scope = ReinitScope::query_key, .seed = 12});
  EXPECT_FALSE(torch::equal(a, third->bert->encoder->layers[1]->attention->self->key->weight));
}

TEST(Reinitialize, ZeroLayersChangesNothing) {
  auto model = perturbed_model();
  auto before = snapshot(model);
  EXPECT_TRUE(reinitialize_top_layers(model, {.top_layers = 0}).empty());
  EXPECT_TRUE(changed_parameters(model, before).empty());
}

TEST(Reinitialize, MoreLayersThanTheModelHasIsAnError) {
  auto model = perturbed_model();
  for (int64_t count : {3, -1}) {
    std::string message =
        test_support::error_message([&] { reinitialize_top_layers(model, {.top_layers = count}); });
    EXPECT_NE(message.find(std::to_string(count)), std::string::npos) << message;
    EXPECT_NE(message.find("2 encoder layers"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace whittle::model
