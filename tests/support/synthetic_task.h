#pragma once
// A task a tiny BERT learns in a few hundred steps, for tests that must see
// a training loss fall: label 1 when the sequence contains token 7, else 0.
#include <cstdint>
#include <random>
#include <vector>

#include "data/tokenized.h"
#include "model/bert_config.h"
#include "support/tiny_bert.h"

namespace whittle::test_support {

inline data::TokenizedDataset contains_seven_task(int64_t examples, uint64_t seed) {
  std::mt19937_64 random(seed);
  data::TokenizedDataset dataset;
  for (int64_t i = 0; i < examples; ++i) {
    int64_t length = 4 + static_cast<int64_t>(random() % 20);
    std::vector<int32_t> ids = {2};  // [CLS]
    int64_t label = static_cast<int64_t>(random() % 2);
    for (int64_t t = 0; t < length; ++t) ids.push_back(static_cast<int32_t>(8 + random() % 40));
    if (label == 1) ids[1 + random() % length] = 7;
    ids.push_back(3);  // [SEP]
    dataset.ids.push_back(ids);
    dataset.labels.push_back(label);
  }
  return dataset;
}

// Small enough that a training test takes a second or two.
inline model::BertConfig tiny_task_config() { return tiny_bert_config({.vocab = 64}); }

}  // namespace whittle::test_support
