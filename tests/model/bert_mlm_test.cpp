#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "model/bert_mlm.h"
#include "model/classifier_io.h"
#include "model/safetensors.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "support/tiny_bert.h"
#include "support/temp_dir.h"

namespace whittle::model {
namespace {
namespace fs = std::filesystem;

BertConfig tiny_config() {
  BertConfig config = test_support::tiny_bert_config({.hidden = 16, .intermediate = 32, .vocab = 50, .positions = 32});
  config.layer_norm_eps = 1e-5;
  return config;
}

using test_support::TempDir;

// Labels predicting tokens 40..42 at three positions; every other label is ignored.
torch::Tensor sparse_labels(int64_t batch, int64_t length) {
  torch::Tensor labels = torch::full({batch, length}, kNotPredicted, torch::kInt64);
  labels[0][1] = 40;
  labels[0][4] = 41;
  labels[1][2] = 42;
  return labels;
}

TEST(BertForMaskedLM, HasHuggingFaceNamesWithoutPoolerOrSeparateDecoder) {
  auto model = new_masked_lm(tiny_config(), 0);
  std::set<std::string> names;
  for (const auto& item : model->named_parameters()) names.insert(item.key());
  for (const std::string& head :
       {"cls.predictions.bias", "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
        "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
        "bert.embeddings.word_embeddings.weight", "bert.encoder.layer.1.output.LayerNorm.bias"}) {
    EXPECT_TRUE(names.contains(head)) << head;
  }
  for (const std::string& name : names) {
    EXPECT_FALSE(name.starts_with("bert.pooler")) << name;
    EXPECT_FALSE(name.starts_with("cls.predictions.decoder")) << name;
    EXPECT_TRUE(name.starts_with("bert.embeddings.") || name.starts_with("bert.encoder.") ||
                name.starts_with("cls.predictions."))
        << name;
  }
  // HF's BertForMaskedLM state without the tied decoder: 5 embedding tensors,
  // 16 per layer, 5 in the head.
  EXPECT_EQ(names.size(), 5u + 2u * 16u + 5u);
}

TEST(BertForMaskedLM, DecoderIsTheWordEmbeddingMatrix) {
  auto model = new_masked_lm(tiny_config(), 0);
  torch::Tensor embeddings = model->bert->embeddings->word_embeddings->weight;
  EXPECT_TRUE(model->decoder_weight().is_same(embeddings));
  EXPECT_EQ(model->decoder_weight().data_ptr(), embeddings.data_ptr());
}

TEST(BertForMaskedLM, DecoderGradientReachesTheEmbeddingsAndAStepMovesBothAlike) {
  auto model = new_masked_lm(tiny_config(), 1);
  model->eval();  // no dropout
  torch::Tensor ids = torch::randint(5, 30, {2, 6}, torch::kInt64);  // never tokens 40..42
  torch::Tensor mask = torch::ones({2, 6}, torch::kInt64);
  torch::Tensor before = model->decoder_weight().detach().clone();
  model->forward(ids, mask, sparse_labels(2, 6), nullptr).loss.backward();
  torch::Tensor gradient = model->bert->embeddings->word_embeddings->weight.grad();
  ASSERT_TRUE(gradient.defined());
  // Rows 30.. are never looked up as inputs: their whole gradient comes from
  // the decoder, (softmax - one-hot)^T · transformed hidden / predictions.
  {
    torch::NoGradGuard no_grad;
    torch::Tensor positions = torch::tensor({1, 4, 8}, torch::kInt64);
    torch::Tensor hidden = model->bert->encode(ids, mask, nullptr).reshape({-1, 16}).index_select(0, positions);
    torch::Tensor transformed = model->cls->predictions->transform(hidden);
    torch::Tensor probabilities = torch::softmax(model->logits_at(hidden.unsqueeze(0), torch::arange(3)), 1);
    torch::Tensor one_hot = torch::zeros_like(probabilities);
    for (int i = 0; i < 3; ++i) one_hot[i][40 + i] = 1.0;
    torch::Tensor expected = torch::matmul((probabilities - one_hot).t(), transformed) / 3.0;
    EXPECT_GT(gradient.slice(0, 40, 43).abs().sum().item<double>(), 0.0);
    EXPECT_TRUE(torch::allclose(gradient.slice(0, 30), expected.slice(0, 30), 1e-4, 1e-6));
  }

  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.5));
  optimizer.step();
  torch::Tensor after = model->bert->embeddings->word_embeddings->weight.detach();
  EXPECT_FALSE(torch::equal(after, before));
  EXPECT_TRUE(torch::equal(model->decoder_weight().detach(), after));
  EXPECT_TRUE(torch::allclose(after - before, -0.5 * gradient));
}

TEST(BertForMaskedLM, LossIsCrossEntropyOverPredictedPositionsOnly) {
  auto model = new_masked_lm(tiny_config(), 2);
  model->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::randint(5, 50, {2, 6}, torch::kInt64);
  torch::Tensor mask = torch::ones({2, 6}, torch::kInt64);
  torch::Tensor labels = sparse_labels(2, 6);
  MaskedLmOutput output = model->forward(ids, mask, labels, nullptr);
  ASSERT_EQ(output.logits.sizes(), (std::vector<int64_t>{3, 50}));
  EXPECT_TRUE(torch::equal(output.targets, torch::tensor({40, 41, 42}, torch::kInt64)));

  // Logits at every position, then the loss by hand at the three predicted ones.
  torch::Tensor hidden = model->bert->encode(ids, mask, nullptr);
  torch::Tensor all_logits = model->logits_at(hidden, torch::arange(12, torch::kInt64));
  std::vector<std::pair<int64_t, int64_t>> predicted = {{1, 40}, {4, 41}, {8, 42}};
  double manual = 0.0;
  for (auto [row, target] : predicted) {
    torch::Tensor logits = all_logits[row].to(torch::kFloat64);
    manual += (torch::logsumexp(logits, 0) - logits[target]).item<double>();
  }
  manual /= 3.0;
  EXPECT_NEAR(output.loss.item<double>(), manual, 1e-5);

  // Hugging Face computes logits everywhere and ignores label -100: same loss.
  torch::Tensor everywhere = torch::nn::functional::cross_entropy(
      all_logits, labels.reshape(-1), torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kNotPredicted));
  EXPECT_NEAR(output.loss.item<double>(), everywhere.item<double>(), 1e-5);
}

TEST(LinearCrossEntropy, MatchesCrossEntropyOverMaterialisedLogitsWithGradients) {
  torch::manual_seed(0);
  // 150 rows: more than two chunks, the last one partial.
  torch::Tensor input = torch::randn({150, 8}, torch::kFloat64).requires_grad_(true);
  torch::Tensor weight = torch::randn({300, 8}, torch::kFloat64).requires_grad_(true);
  torch::Tensor bias = torch::randn({300}, torch::kFloat64).requires_grad_(true);
  torch::Tensor targets = torch::randint(300, {150}, torch::kInt64);

  torch::Tensor reference = torch::cross_entropy_loss(torch::addmm(bias, input, weight.t()), targets);
  auto expected = torch::autograd::grad({reference * 3.0}, {input, weight, bias});
  torch::Tensor fused = linear_cross_entropy(input, weight, bias, targets);
  auto actual = torch::autograd::grad({fused * 3.0}, {input, weight, bias});
  EXPECT_NEAR(fused.item<double>(), reference.item<double>(), 1e-12);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::allclose(actual[i], expected[i], 1e-10, 1e-12)) << i;

  torch::NoGradGuard no_grad;
  EXPECT_NEAR(linear_cross_entropy(input, weight, bias, targets).item<double>(), reference.item<double>(), 1e-12);
  EXPECT_THROW(linear_cross_entropy(input, weight, bias, targets.narrow(0, 0, 5)), Error);
}

TEST(BertForMaskedLM, TrainingLossEqualsTheForwardLossAndItsGradients) {
  auto model = new_masked_lm(tiny_config(), 7);
  model->eval();  // dropout off, so both passes compute the same function
  torch::Tensor ids = torch::randint(5, 50, {2, 6}, torch::kInt64);
  torch::Tensor mask = torch::ones({2, 6}, torch::kInt64);
  auto parameters = model->parameters();
  torch::Tensor reference = model->forward(ids, mask, sparse_labels(2, 6), nullptr).loss;
  auto expected = torch::autograd::grad({reference}, parameters);
  torch::Tensor fused = model->loss(ids, mask, sparse_labels(2, 6), nullptr);
  auto actual = torch::autograd::grad({fused}, parameters);
  EXPECT_NEAR(fused.item<double>(), reference.item<double>(), 1e-5);
  for (size_t i = 0; i < parameters.size(); ++i) EXPECT_TRUE(torch::allclose(actual[i], expected[i], 1e-4, 1e-6)) << i;
}

TEST(BertForMaskedLM, LogitsFollowTheHuggingFaceHead) {
  BertConfig config = tiny_config();
  auto model = new_masked_lm(config, 3);
  model->eval();
  torch::NoGradGuard no_grad;
  {
    // A non-zero output bias, so that its use is checked too.
    model->cls->predictions->bias.copy_(torch::linspace(-1, 1, config.vocab_size));
  }
  torch::Tensor hidden = torch::randn({4, config.hidden_size});
  auto& transform = *model->cls->predictions->transform;
  torch::Tensor dense = torch::matmul(hidden, transform.dense->weight.t()) + transform.dense->bias;
  torch::Tensor activated = 0.5 * dense * (1.0 + torch::erf(dense / std::sqrt(2.0)));
  torch::Tensor mean = activated.mean(-1, true);
  torch::Tensor variance = (activated - mean).pow(2).mean(-1, true);
  torch::Tensor normed = (activated - mean) / torch::sqrt(variance + config.layer_norm_eps) *
                             transform.layer_norm->weight + transform.layer_norm->bias;
  torch::Tensor expected = torch::matmul(normed, model->decoder_weight().t()) + model->cls->predictions->bias;
  torch::Tensor logits = model->logits_at(hidden.unsqueeze(0), torch::arange(4, torch::kInt64));
  EXPECT_TRUE(torch::allclose(logits, expected, 1e-4, 1e-5));
}

TEST(BertForMaskedLM, NothingToPredictGivesAZeroLoss) {
  auto model = new_masked_lm(tiny_config(), 0);
  torch::Tensor ids = torch::randint(5, 50, {1, 4}, torch::kInt64);
  auto output = model->forward(ids, torch::ones({1, 4}, torch::kInt64),
                               torch::full({1, 4}, kNotPredicted, torch::kInt64), nullptr);
  EXPECT_EQ(output.loss.item<double>(), 0.0);
  EXPECT_EQ(output.logits.size(0), 0);
}

TEST(BertForMaskedLM, SavesTheHuggingFaceLayoutWithoutTiedDuplicates) {
  TempDir dir;
  auto model = new_masked_lm(tiny_config(), 4);
  save_masked_lm(dir.path(), model, {{"pretrain", {{"steps", 3}}}}, fs::path(WHITTLE_TEST_FIXTURES) / "tokenizer");
  auto config = nlohmann::json::parse(read_file(dir.path() / "config.json"));
  EXPECT_EQ(config["architectures"], nlohmann::json::array({"BertForMaskedLM"}));
  EXPECT_EQ(config["model_type"], "bert");
  EXPECT_EQ(config["layer_norm_eps"], 1e-5);
  EXPECT_FALSE(config.contains("id2label"));
  EXPECT_TRUE(fs::exists(dir.path() / "vocab.txt"));
  EXPECT_TRUE(fs::exists(dir.path() / "whittle.json"));

  TensorMap saved = read_safetensors(dir.path() / "model.safetensors");
  EXPECT_TRUE(saved.contains("cls.predictions.bias"));
  EXPECT_TRUE(saved.contains("cls.predictions.transform.LayerNorm.weight"));
  EXPECT_FALSE(saved.contains("cls.predictions.decoder.weight"));
  EXPECT_FALSE(saved.contains("cls.predictions.decoder.bias"));
  EXPECT_FALSE(saved.contains("bert.pooler.dense.weight"));

  auto loaded = load_masked_lm(dir.path());
  for (const auto& [name, tensor] : masked_lm_tensors(model)) {
    EXPECT_TRUE(torch::equal(tensor, masked_lm_tensors(loaded).at(name))) << name;
  }
}

TEST(BertForMaskedLM, LoadsCheckpointsThatKeepTheTiedDecoderTensors) {
  TempDir dir;
  auto model = new_masked_lm(tiny_config(), 5);
  TensorMap tensors = masked_lm_tensors(model);
  // Older transformers versions (torch.save) wrote both names of each tied pair.
  tensors["cls.predictions.decoder.weight"] = tensors.at("bert.embeddings.word_embeddings.weight").clone();
  tensors["cls.predictions.decoder.bias"] = tensors.at("cls.predictions.bias").clone();
  write_file_atomically(dir.path() / "config.json", masked_lm_config_json(tiny_config()).dump());
  write_safetensors(dir.path() / "model.safetensors", tensors);
  auto loaded = load_masked_lm(dir.path());
  EXPECT_TRUE(torch::equal(loaded->decoder_weight(), model->decoder_weight()));
}

TEST(BertForMaskedLM, PretrainedCheckpointLoadsAsAClassifierWithOnlyPoolerAndClassifierNew) {
  TempDir dir;
  auto model = new_masked_lm(tiny_config(), 6);
  save_masked_lm(dir.path(), model, nlohmann::json::object(), fs::path(WHITTLE_TEST_FIXTURES) / "tokenizer");
  LoadedClassifier classifier = load_classifier(dir.path(), 9);
  std::set<std::string> initialised(classifier.initialised.begin(), classifier.initialised.end());
  EXPECT_EQ(initialised, (std::set<std::string>{"bert.pooler.dense.weight", "bert.pooler.dense.bias",
                                                "classifier.weight", "classifier.bias"}));
  TensorMap pretrained = masked_lm_tensors(model);
  for (const auto& item : classifier.model->named_parameters()) {
    if (initialised.contains(item.key())) continue;
    ASSERT_TRUE(pretrained.contains(item.key())) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), pretrained.at(item.key()))) << item.key();
  }
}

TEST(BertForMaskedLM, ACheckpointWithoutAnMlmHeadIsRejectedClearly) {
  TempDir dir;
  auto classifier = new_classifier(tiny_config(), 0);
  save_checkpoint(dir.path(), classifier_checkpoint(classifier, nlohmann::json::object()), {});
  try {
    load_masked_lm(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("no masked-LM head"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace whittle::model
