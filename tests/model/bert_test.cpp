#include <gtest/gtest.h>

#include <set>

#include "model/bert.h"
#include "model/classifier_io.h"
#include "model/fused_ops.h"
#include "support/tiny_bert.h"

namespace whittle::model {
namespace {

BertConfig tiny_config() { return test_support::tiny_bert_config({.hidden = 16, .intermediate = 32}); }

TEST(BertModel, HasHuggingFaceParameterNames) {
  auto model = new_classifier(tiny_config(), 0);
  std::set<std::string> names;
  for (const auto& item : model->named_parameters()) names.insert(item.key());
  std::set<std::string> expected = {
      "bert.embeddings.word_embeddings.weight",
      "bert.embeddings.position_embeddings.weight",
      "bert.embeddings.token_type_embeddings.weight",
      "bert.embeddings.LayerNorm.weight",
      "bert.embeddings.LayerNorm.bias",
      "bert.pooler.dense.weight",
      "bert.pooler.dense.bias",
      "classifier.weight",
      "classifier.bias",
  };
  for (int layer = 0; layer < 2; ++layer) {
    std::string prefix = "bert.encoder.layer." + std::to_string(layer) + ".";
    for (std::string suffix :
         {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
          "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"}) {
      expected.insert(prefix + suffix + ".weight");
      expected.insert(prefix + suffix + ".bias");
    }
  }
  EXPECT_EQ(names, expected);
}

TEST(BertModel, BertTinyHasTheKnownParameterCount) {
  BertConfig config;  // defaults are BERT-Tiny's
  auto model = new_classifier(config, 0);
  int64_t count = 0;
  for (const auto& parameter : model->parameters()) count += parameter.numel();
  // embeddings (30522 + 512 + 2) * 128 + LayerNorm 256; per layer 4 * (128*128 + 128)
  // + 128*512 + 512 + 512*128 + 128 + 2 LayerNorms * 256; pooler 128*128 + 128; classifier 128*2 + 2.
  int64_t embeddings = (30522 + 512 + 2) * 128 + 256;
  int64_t layer = 4 * (128 * 128 + 128) + 128 * 512 + 512 + 512 * 128 + 128 + 2 * 256;
  int64_t expected = embeddings + 2 * layer + 128 * 128 + 128 + 128 * 2 + 2;
  EXPECT_EQ(count, expected);
  EXPECT_EQ(expected, 4386178);
}

TEST(BertModel, InitialisationFollowsBert) {
  BertConfig config = tiny_config();
  config.vocab_size = 2000;
  auto model = new_classifier(config, 3);
  auto words = model->bert->embeddings->word_embeddings->weight;
  EXPECT_NEAR(words.slice(0, 1).std().item<double>(), 0.02, 0.002);
  EXPECT_EQ(words[0].abs().sum().item<double>(), 0.0);  // padding row
  EXPECT_EQ(model->classifier->bias.abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(model->bert->embeddings->layer_norm->weight, torch::ones({16})));
}

TEST(BertModel, ProducesLogitsPerExample) {
  auto model = new_classifier(tiny_config(), 0);
  model->eval();
  auto ids = torch::randint(5, 100, {3, 7}, torch::kInt64);
  auto logits = model->forward(ids, torch::ones({3, 7}, torch::kInt64));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 2}));
}

TEST(BertModel, PaddingDoesNotChangeLogits) {
  auto model = new_classifier(tiny_config(), 1);
  model->eval();
  auto short_ids = torch::randint(5, 100, {1, 6}, torch::kInt64);
  auto alone = model->forward(short_ids, torch::ones({1, 6}, torch::kInt64));
  // The same sequence padded to 20, next to a longer one.
  auto padded = torch::zeros({2, 20}, torch::kInt64);
  padded[0].narrow(0, 0, 6).copy_(short_ids[0]);
  padded[1].copy_(torch::randint(5, 100, {20}, torch::kInt64));
  auto mask = torch::zeros({2, 20}, torch::kInt64);
  mask[0].narrow(0, 0, 6).fill_(1);
  mask[1].fill_(1);
  auto batched = model->forward(padded, mask);
  EXPECT_TRUE(torch::allclose(batched[0], alone[0], 1e-5, 1e-6)) << batched[0] << alone[0];
  // Different padding values must not matter either.
  padded[0].narrow(0, 6, 14).fill_(42);
  EXPECT_TRUE(torch::allclose(model->forward(padded, mask)[0], alone[0], 1e-5, 1e-6));
}

TEST(BertModel, ClsOnlyLastLayerGivesTheSameLogits) {
  auto model = new_classifier(tiny_config(), 2);
  model->eval();
  auto ids = torch::randint(5, 100, {4, 12}, torch::kInt64);
  auto mask = torch::ones({4, 12}, torch::kInt64);
  mask[1].narrow(0, 8, 4).zero_();
  model->set_cls_only_last_layer(true);
  auto fast = model->forward(ids, mask);
  model->set_cls_only_last_layer(false);
  auto full = model->forward(ids, mask);
  EXPECT_TRUE(torch::allclose(fast, full, 1e-5, 1e-6));
}

TEST(BertModel, DropoutOnlyInTrainingAndSeeded) {
  auto model = new_classifier(tiny_config(), 0);
  auto ids = torch::randint(5, 100, {2, 9}, torch::kInt64);
  auto mask = torch::ones({2, 9}, torch::kInt64);
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(ids, mask), model->forward(ids, mask)));
  model->train();
  model->reseed_dropout(7);
  auto first = model->forward(ids, mask);
  auto second = model->forward(ids, mask);
  EXPECT_FALSE(torch::equal(first, second));
  model->reseed_dropout(7);
  EXPECT_TRUE(torch::equal(model->forward(ids, mask), first));
}

TEST(FastDropout, KeepsTheExpectedFractionAndScales) {
  auto input = torch::ones({1000, 1000});
  auto output = fast_dropout(input, 0.1, 123);
  double kept = output.ne(0).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(kept, 0.9, 0.002);
  EXPECT_NEAR(output.max().item<double>(), 1.0 / 0.9, 1e-6);
  auto other_seed = fast_dropout(input, 0.1, 124);
  EXPECT_FALSE(torch::equal(output, other_seed));
}

TEST(FastDropout, BackwardUsesTheForwardMask) {
  auto input = torch::randn({64, 33}).requires_grad_(true);
  auto output = fast_dropout(input, 0.5, 99);
  output.sum().backward();
  auto expected = output.detach().ne(0).to(torch::kFloat32) * 2.0;
  EXPECT_TRUE(torch::allclose(input.grad(), expected));
  for (int64_t i = 0; i < 64 * 33; ++i) {
    bool kept = output.detach().view(-1)[i].item<float>() != 0.0f;
    ASSERT_EQ(kept, dropout_keeps(99, i, 0.5)) << i;
  }
}

TEST(FastDropout, ZeroProbabilityIsIdentity) {
  auto input = torch::randn({5, 5});
  EXPECT_TRUE(torch::equal(fast_dropout(input, 0.0, 1), input));
}

}  // namespace
}  // namespace whittle::model
