#pragma once
// The BERT configuration unit tests build on: two layers and two heads like
// BERT-Tiny, with widths small enough that a test runs in milliseconds.
#include <cstdint>
#include <optional>

#include "model/bert.h"
#include "model/bert_config.h"
#include "model/classifier_io.h"

namespace whittle::test_support {

// The sizes a test may change; an unset one keeps the tiny default, which
// stands next to the BertConfig field it fills in tiny_bert_config.
struct TinyBertSizes {
  std::optional<int64_t> hidden, intermediate, vocab, positions;
};

inline model::BertConfig tiny_bert_config(TinyBertSizes sizes = {}) {
  model::BertConfig config;
  config.vocab_size = sizes.vocab.value_or(100);
  config.hidden_size = sizes.hidden.value_or(32);
  config.num_hidden_layers = 2;
  config.num_attention_heads = 2;
  config.intermediate_size = sizes.intermediate.value_or(64);
  config.max_position_embeddings = sizes.positions.value_or(64);
  return config;
}

// A freshly initialised classifier of the default tiny shape.
inline model::BertForSequenceClassification tiny_bert_classifier(uint64_t seed) {
  return model::new_classifier(tiny_bert_config(), seed);
}

}  // namespace whittle::test_support
