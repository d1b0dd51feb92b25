#pragma once
// The BERT configuration unit tests build on: two layers and two heads like
// BERT-Tiny, with widths small enough that a test runs in milliseconds.
#include <cstdint>

#include "model/bert_config.h"

namespace whittle::test_support {

struct TinyBertSizes {
  int64_t hidden = 32;
  int64_t intermediate = 64;
  int64_t vocab = 100;
  int64_t positions = 64;
};

inline model::BertConfig tiny_bert_config(TinyBertSizes sizes = {}) {
  model::BertConfig config;
  config.vocab_size = sizes.vocab;
  config.hidden_size = sizes.hidden;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 2;
  config.intermediate_size = sizes.intermediate;
  config.max_position_embeddings = sizes.positions;
  return config;
}

}  // namespace whittle::test_support
