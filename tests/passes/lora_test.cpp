#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <unistd.h>

#include "model/classifier_io.h"
#include "passes/lora/lora_config.h"
#include "passes/lora/lora_pass.h"
#include "passes/lora/lora_transform.h"
#include "passes/quantize/quantize_pass.h"
#include "passes/recorded_passes.h"
#include "support/model_batch.h"
#include "support/synthetic_task.h"
#include "util/error.h"
#include "support/error_message.h"

namespace whittle::passes {
namespace {

using nlohmann::json;

using test_support::error_message;

std::string parse_error(const json& document) {
  return error_message([&] { parse_lora_config(document, "test.toml"); });
}

bool mentions(const std::string& message, const std::string& part) {
  return message.find(part) != std::string::npos;
}

model::BertForSequenceClassification tiny_model(uint64_t seed = 0) {
  return model::new_classifier(test_support::tiny_task_config(), seed);
}

using Batch = test_support::ModelBatch;
using test_support::eval_mode_logits;

Batch random_batch() {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(11);
  torch::Tensor ids = torch::randint(1, 64, {4, 20}, generator, torch::kInt64);
  torch::Tensor attention = torch::ones({4, 20}, torch::kInt64);
  attention.index_put_({1, torch::indexing::Slice(12)}, 0);  // one padded row
  return {ids, attention, torch::Tensor()};
}

// Right-padded batch of a whole dataset (small enough for one forward pass).
Batch batch_of(const data::TokenizedDataset& dataset, size_t begin, size_t end) {
  size_t longest = 0;
  for (size_t i = begin; i < end; ++i) longest = std::max(longest, dataset.ids[i].size());
  auto rows = static_cast<int64_t>(end - begin);
  torch::Tensor ids = torch::zeros({rows, static_cast<int64_t>(longest)}, torch::kInt64);
  torch::Tensor attention = torch::zeros_like(ids);
  torch::Tensor labels = torch::empty({rows}, torch::kInt64);
  for (size_t i = begin; i < end; ++i) {
    auto row = static_cast<int64_t>(i - begin);
    for (size_t t = 0; t < dataset.ids[i].size(); ++t) {
      ids[row][static_cast<int64_t>(t)] = dataset.ids[i][t];
      attention[row][static_cast<int64_t>(t)] = 1;
    }
    labels[row] = dataset.labels[i];
  }
  return {ids, attention, labels};
}

std::map<std::string, torch::Tensor> snapshot(model::BertForSequenceClassification& model) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : model->named_parameters()) tensors[item.key()] = item.value().detach().clone();
  return tensors;
}

// Gives every adapter a non-zero B, as training would.
void randomize_adapters(model::BertForSequenceClassification& model) {
  torch::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(3);
  for (auto& [name, linear] : model::find_linears(*model)) {
    if (auto adapter = linear->find_transform<LoraTransformImpl>()) adapter->lora_B.normal_(0.0, 0.5, generator);
  }
}

// ---- config ------------------------------------------------------------------

TEST(LoraConfig, DefaultsAreTheLabsValues) {
  LoraConfig config = parse_lora_config(json::object(), "test.toml");
  EXPECT_EQ(config.rank, 6);
  EXPECT_DOUBLE_EQ(config.alpha, 1.0);
  EXPECT_DOUBLE_EQ(config.dropout, 0.5);
  EXPECT_TRUE(config.target_modules.empty());
  EXPECT_DOUBLE_EQ(config.scaling(), 1.0 / 6.0);
}

TEST(LoraConfig, ReadsMaseKeysTheLabsSpellingAndRoundTrips) {
  LoraConfig mase = parse_lora_config({{"rank", 4}, {"lora_alpha", 2.0}, {"lora_dropout", 0.1}}, "a");
  LoraConfig lab = parse_lora_config({{"r", 4}, {"alpha", 2}, {"dropout", 0.1}}, "b");
  for (const LoraConfig& config : {mase, lab}) {
    EXPECT_EQ(config.rank, 4);
    EXPECT_DOUBLE_EQ(config.alpha, 2.0);
    EXPECT_DOUBLE_EQ(config.dropout, 0.1);
  }
  LoraConfig targeted = parse_lora_config({{"rank", 2}, {"target_modules", {"query", "value"}}}, "c");
  EXPECT_EQ(targeted.target_modules, (std::vector<std::string>{"query", "value"}));
  LoraConfig again = parse_lora_config(to_json(targeted), "d");
  EXPECT_EQ(again.rank, 2);
  EXPECT_EQ(again.target_modules, targeted.target_modules);
  EXPECT_EQ(to_json(mase), to_json(parse_lora_config(to_json(mase), "e")));
}

TEST(LoraConfig, ReadsTomlFilesAndWholeChConfigs) {
  auto path = std::filesystem::temp_directory_path() / ("whittle-lora-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream file(path);
    file << "[passes.lora]\nrank = 3\nlora_alpha = 1.5\nlora_dropout = 0.0\n[passes.other]\nx = 1\n";
  }
  LoraConfig config = load_lora_config(path);
  std::filesystem::remove(path);
  EXPECT_EQ(config.rank, 3);
  EXPECT_DOUBLE_EQ(config.alpha, 1.5);
  EXPECT_DOUBLE_EQ(config.dropout, 0.0);
  EXPECT_EQ(config.origin, path.string());
}

TEST(LoraConfig, BadValuesNameTheirKey) {
  EXPECT_TRUE(mentions(parse_error({{"rnk", 6}}), "test.toml: rnk is not a known key"));
  EXPECT_TRUE(mentions(parse_error({{"rank", 0}}), "rank must be an integer of at least 1"));
  EXPECT_TRUE(mentions(parse_error({{"rank", -2}}), "rank must be"));
  EXPECT_TRUE(mentions(parse_error({{"r", 2.5}}), "r must be an integer"));
  EXPECT_TRUE(mentions(parse_error({{"rank", "6"}}), "rank must be an integer"));
  EXPECT_TRUE(mentions(parse_error({{"lora_dropout", 1.0}}), "lora_dropout must be from 0 to below 1"));
  EXPECT_TRUE(mentions(parse_error({{"dropout", -0.1}}), "dropout must be from 0 to below 1"));
  EXPECT_TRUE(mentions(parse_error({{"lora_alpha", 0}}), "lora_alpha must be a positive number"));
  EXPECT_TRUE(mentions(parse_error({{"alpha", true}}), "alpha must be a number"));
  EXPECT_TRUE(mentions(parse_error({{"rank", 4}, {"r", 4}}), "give the same setting twice"));
  EXPECT_TRUE(mentions(parse_error({{"target_modules", json::array()}}), "target_modules must be a non-empty array"));
  EXPECT_TRUE(mentions(parse_error({{"target_modules", {"query", 3}}}), "target_modules must hold"));
  EXPECT_TRUE(mentions(parse_error({{"target_modules", {"classifier"}}}), "trained in full"));
  EXPECT_TRUE(mentions(parse_error({{"passes", {{"prune", json::object()}}}}), "passes.lora is missing"));
  EXPECT_TRUE(mentions(parse_error({{"passes", {{"lora", {{"rank", 0}}}}}}), "passes.lora.rank must be"));
  EXPECT_TRUE(mentions(parse_error(json::array()), "must be a table"));
}

TEST(LoraConfig, FlagsKeepDefaultsAndNameTheFlagInErrors) {
  LoraConfig config = lora_config_from_flags(8, std::nullopt, 0.0);
  EXPECT_EQ(config.rank, 8);
  EXPECT_DOUBLE_EQ(config.alpha, 1.0);
  EXPECT_DOUBLE_EQ(config.dropout, 0.0);
  EXPECT_TRUE(mentions(error_message([] { lora_config_from_flags(0, std::nullopt, std::nullopt); }), "--rank"));
  EXPECT_TRUE(mentions(error_message([] { lora_config_from_flags(std::nullopt, -1.0, std::nullopt); }), "--alpha"));
  EXPECT_TRUE(mentions(error_message([] { lora_config_from_flags(std::nullopt, std::nullopt, 1.0); }), "--dropout"));
}

// ---- the transform -------------------------------------------------------------

TEST(LoraTransform, StartsAsANoOpWithKaimingUniformA) {
  LoraTransform adapter(16, 8, 4, 1.0, 0.0, 1, 2);
  EXPECT_EQ(adapter->lora_A.sizes(), (std::vector<int64_t>{4, 16}));
  EXPECT_EQ(adapter->lora_B.sizes(), (std::vector<int64_t>{8, 4}));
  EXPECT_TRUE(torch::equal(adapter->lora_B, torch::zeros({8, 4})));
  float bound = 1.0f / 4.0f;  // 1 / sqrt(fan_in)
  EXPECT_LE(adapter->lora_A.abs().max().item<float>(), bound);
  EXPECT_GT(adapter->lora_A.abs().max().item<float>(), 0.5f * bound);
  // The same seeds draw the same A; another seed another.
  EXPECT_TRUE(torch::equal(adapter->lora_A, LoraTransform(16, 8, 4, 1.0, 0.0, 1, 9)->lora_A));
  EXPECT_FALSE(torch::equal(adapter->lora_A, LoraTransform(16, 8, 4, 1.0, 0.0, 5, 2)->lora_A));
}

TEST(LoraTransform, DropoutActsInTrainingModeOnlyFromItsOwnSeeds) {
  auto make = [] {
    LoraTransform adapter(64, 32, 4, 2.0, 0.5, 1, 7);
    torch::NoGradGuard no_grad;
    adapter->lora_B.normal_(0.0, 1.0, at::make_generator<at::CPUGeneratorImpl>(5));
    return adapter;
  };
  torch::Tensor x = torch::randn({3, 10, 64}, at::make_generator<at::CPUGeneratorImpl>(8));
  torch::Tensor y = torch::randn({3, 10, 32}, at::make_generator<at::CPUGeneratorImpl>(9));
  LoraTransform adapter = make();
  torch::Tensor expected = y + 0.5 * x.matmul(adapter->lora_A.t()).matmul(adapter->lora_B.t());

  adapter->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(adapter->transform_output(x, y), expected, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(adapter->transform_output(x, y), adapter->transform_output(x, y)));

  adapter->train();
  torch::Tensor first = adapter->transform_output(x, y);
  torch::Tensor second = adapter->transform_output(x, y);
  EXPECT_FALSE(torch::allclose(first, expected, 1e-3, 1e-3));
  EXPECT_FALSE(torch::equal(first, second));  // a fresh mask each step
  LoraTransform twin = make();                // same seeds: the same masks, whatever the global RNG did
  twin->train();
  torch::manual_seed(1234);
  EXPECT_TRUE(torch::equal(twin->transform_output(x, y), first));
}

// ---- the pass ------------------------------------------------------------------

TEST(LoraPass, InsertingAdaptersLeavesTheOutputUnchanged) {
  Batch batch = random_batch();
  auto plain = tiny_model();
  auto adapted = tiny_model();
  lora_pass(adapted, LoraConfig{}, 0);
  EXPECT_TRUE(torch::equal(eval_mode_logits(plain, batch), eval_mode_logits(adapted, batch)));

  // In training mode too: the adapters' dropout draws from their own streams,
  // not the model's, so the model's own dropout masks are unchanged.
  plain->train();
  adapted->train();
  plain->reseed_dropout(5);
  adapted->reseed_dropout(5);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(plain->forward(batch.ids, batch.attention), adapted->forward(batch.ids, batch.attention)));
}

TEST(LoraPass, OnlyAdaptersAndTheClassifierTrain) {
  auto model = tiny_model();
  LoraReport report = lora_pass(model, LoraConfig{}, 0);
  std::set<std::string> adapted;
  for (const auto& layer : report.layers) adapted.insert(layer.name);
  std::set<std::string> expected = {"bert.pooler.dense"};
  for (int layer = 0; layer < 2; ++layer) {
    std::string prefix = "bert.encoder.layer." + std::to_string(layer) + ".";
    for (const char* suffix : {"attention.self.query", "attention.self.key", "attention.self.value",
                               "attention.output.dense", "intermediate.dense", "output.dense"}) {
      expected.insert(prefix + suffix);
    }
  }
  EXPECT_EQ(adapted, expected);
  EXPECT_EQ(report.trained_in_full, (std::vector<std::string>{"classifier.weight", "classifier.bias"}));

  int64_t adapter_tensors = 0;
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    bool is_adapter = name.ends_with(".lora.lora_A") || name.ends_with(".lora.lora_B");
    bool is_classifier = name == "classifier.weight" || name == "classifier.bias";
    EXPECT_EQ(item.value().requires_grad(), is_adapter || is_classifier) << name;
    adapter_tensors += is_adapter ? 1 : 0;
  }
  EXPECT_EQ(adapter_tensors, 2 * 13);
  EXPECT_TRUE(model->named_parameters().contains("bert.encoder.layer.0.attention.self.query.lora.lora_A"));
}

TEST(LoraPass, ParameterCountsAreExact) {
  // tiny_task_config: vocab 64, hidden 32, 2 layers, intermediate 64, 64 positions, 2 token types, 2 labels.
  const int64_t V = 64, H = 32, I = 64, P = 64, T = 2, layers = 2, labels = 2, r = 6;
  const int64_t embeddings = V * H + P * H + T * H + 2 * H;
  const int64_t per_layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H;
  const int64_t pooler = H * H + H;
  const int64_t classifier = H * labels + labels;
  const int64_t base = embeddings + layers * per_layer + pooler + classifier;
  const int64_t adapters_per_layer = 4 * r * (H + H) + r * (H + I) + r * (I + H);
  const int64_t adapters = layers * adapters_per_layer + r * (H + H);
  ASSERT_EQ(base, 22434);
  ASSERT_EQ(adapters, 5760);

  auto model = tiny_model();
  LoraReport report = lora_pass(model, LoraConfig{}, 0);
  EXPECT_EQ(report.total_parameters, base + adapters);
  EXPECT_EQ(report.trainable_parameters, adapters + classifier);
  EXPECT_DOUBLE_EQ(report.trainable_fraction(), 5826.0 / 28194.0);
  for (const auto& layer : report.layers) {
    EXPECT_EQ(layer.adapter_parameters, r * (layer.in_features + layer.out_features)) << layer.name;
  }
  json summary = to_json(report);
  EXPECT_EQ(summary["trainable_parameters"], 5826);
  EXPECT_EQ(summary["layers"]["bert.encoder.layer.1.intermediate.dense"]["adapter_parameters"], r * (H + I));

  // Targets select by name suffix: Q and V of both layers at rank 2.
  auto targeted = tiny_model();
  LoraConfig config;
  config.rank = 2;
  config.target_modules = {"query", "attention.self.value"};
  LoraReport few = lora_pass(targeted, config, 0);
  EXPECT_EQ(few.layers.size(), 4u);
  EXPECT_EQ(few.trainable_parameters, layers * 2 * 2 * (H + H) + classifier);
}

TEST(LoraPass, RefusesWhatItCannotFuseAndLeavesTheModelAsItWas) {
  auto model = tiny_model();
  LoraConfig typo;
  typo.target_modules = {"qeury"};
  EXPECT_TRUE(mentions(error_message([&] { lora_pass(model, typo, 0); }), "\"qeury\" selects no Linear layer"));
  EXPECT_TRUE(layers_with_lora(*model).empty());

  quantize_pass(model, uniform_quantize_config(8, 4));
  std::string quantized = error_message([&] { lora_pass(model, LoraConfig{}, 0); });
  EXPECT_TRUE(mentions(quantized, "carries a quantize transform")) << quantized;
  EXPECT_TRUE(layers_with_lora(*model).empty());
  for (const auto& parameter : model->parameters()) EXPECT_TRUE(parameter.requires_grad());

  auto twice = tiny_model();
  lora_pass(twice, LoraConfig{}, 0);
  EXPECT_TRUE(mentions(error_message([&] { lora_pass(twice, LoraConfig{}, 1); }), "already has LoRA adapters"));
}

TEST(LoraPass, FusingReproducesTheAdaptedLogits) {
  Batch batch = random_batch();
  auto model = tiny_model();
  lora_pass(model, LoraConfig{}, 0);
  randomize_adapters(model);
  auto query = model->bert->encoder->layers[0]->attention->self->query;
  auto adapter = query->find_transform<LoraTransformImpl>();
  torch::Tensor expected_weight = query->weight.detach() + (1.0 / 6.0) * adapter->lora_B.matmul(adapter->lora_A).detach();

  torch::Tensor adapted = eval_mode_logits(model, batch);
  auto plain = tiny_model();
  EXPECT_FALSE(torch::allclose(adapted, eval_mode_logits(plain, batch), 1e-3, 1e-3));  // the adapters matter
  std::vector<std::string> fused = fuse_lora(model);
  EXPECT_EQ(fused.size(), 13u);
  EXPECT_TRUE(layers_with_lora(*model).empty());
  EXPECT_TRUE(torch::allclose(query->weight.detach(), expected_weight, 0.0, 1e-6));
  torch::Tensor after = eval_mode_logits(model, batch);
  EXPECT_LT((after - adapted).abs().max().item<float>(), 1e-5f);
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(item.value().requires_grad()) << item.key();
    EXPECT_FALSE(mentions(item.key(), ".lora.")) << item.key();
  }
}

TEST(LoraPass, SavingUnfusedAdaptersIsRefusedUntilFused) {
  auto model = tiny_model();
  lora_pass(model, LoraConfig{}, 0);
  std::string message = error_message([&] { record_passes(model); });
  EXPECT_TRUE(mentions(message, "unfused LoRA adapters")) << message;
  EXPECT_TRUE(mentions(message, "fuse")) << message;
  fuse_lora(model);
  EXPECT_EQ(record_passes(model), json::object());
}

TEST(LoraPass, TrainingMovesOnlyAdaptersAndClassifierAndLowersTheLoss) {
  auto train_set = test_support::contains_seven_task(256, 1);
  auto model = tiny_model(2);
  lora_pass(model, LoraConfig{4, 8.0, 0.1}, 0);
  auto before = snapshot(model);
  Batch whole = batch_of(train_set, 0, train_set.ids.size());
  auto loss_on = [&](const Batch& batch) {
    torch::NoGradGuard no_grad;
    model->eval();
    return torch::cross_entropy_loss(model->forward(batch.ids, batch.attention), batch.labels).item<double>();
  };
  double initial_loss = loss_on(whole);

  std::vector<torch::Tensor> trainable;
  for (const auto& parameter : model->parameters()) {
    if (parameter.requires_grad()) trainable.push_back(parameter);
  }
  torch::optim::AdamW optimizer(trainable, torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (size_t begin = 0; begin < train_set.ids.size(); begin += 16) {
      Batch batch = batch_of(train_set, begin, begin + 16);
      model->train();
      optimizer.zero_grad();
      torch::cross_entropy_loss(model->forward(batch.ids, batch.attention), batch.labels).backward();
      optimizer.step();
    }
  }
  double final_loss = loss_on(whole);
  EXPECT_LT(final_loss, initial_loss * 0.9) << "from " << initial_loss;

  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    bool trains = name.ends_with("lora_A") || name.ends_with("lora_B") || name.starts_with("classifier.");
    bool unchanged = torch::equal(item.value().detach(), before[name]);
    EXPECT_EQ(unchanged, !trains) << name;
  }
}

}  // namespace
}  // namespace whittle::passes
