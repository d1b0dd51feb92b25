#pragma once
// Tiny random classifiers and batches for the deploy tests.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/bert_config.h"
#include "model/classifier_io.h"
#include "passes/quantize/quantize_config.h"
#include "passes/quantize/quantize_pass.h"
#include "text/tokenizer_files.h"
#include "support/model_batch.h"
#include "support/tiny_bert.h"

namespace whittle::deploy::test {

// Weights ten times BERT's usual spread, so that they land on many
// fixed-point steps instead of rounding to zero.
inline model::BertConfig tiny_config() {
  model::BertConfig config = test_support::tiny_bert_config();
  config.initializer_range = 0.2;
  return config;
}

inline model::BertForSequenceClassification tiny_classifier(uint64_t seed = 3) {
  auto model = model::new_classifier(tiny_config(), seed);
  model->eval();
  return model;
}

// frac width 5: steps of 1/32 over ±4 at 8 bits.
inline passes::QuantizeConfig quantize_config(int64_t width, int64_t frac_width = 5) {
  return passes::uniform_quantize_config(width, frac_width);
}

inline text::TokenizerFiles tiny_tokenizer() {
  text::TokenizerFiles files;
  files.tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (int i = static_cast<int>(files.tokens.size()); i < 100; ++i) files.tokens.push_back("tok" + std::to_string(i));
  return files;
}

using Batch = test_support::ModelBatch;

// Right-padded rows of different lengths, as whittle's batches are.
inline Batch padded_batch(uint64_t seed, int64_t rows = 5, int64_t length = 24) {
  torch::manual_seed(static_cast<int64_t>(seed));
  torch::Tensor ids = torch::randint(5, 100, {rows, length}, torch::kInt64);
  torch::Tensor attention = torch::ones({rows, length}, torch::kInt64);
  for (int64_t r = 1; r < rows; ++r) {
    const int64_t real = length - (r * 3) % length;
    attention[r].narrow(0, real, length - real).zero_();
    ids[r].narrow(0, real, length - real).zero_();
  }
  ids.select(1, 0).fill_(2);
  return {ids, attention};
}

inline torch::Tensor simulated_logits(model::BertForSequenceClassification& model, const Batch& batch) {
  torch::NoGradGuard no_grad;
  model->eval();
  return model->forward(batch.ids, batch.attention);
}

}  // namespace whittle::deploy::test
