#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenized.h"

namespace whittle::experiments {

// A fixed, class-balanced validation set carved out of the train split, and
// what is left of the split for training. Search decisions are taken on the
// validation set, so that the test split stays untouched until the report.
struct ValidationSplit {
  data::TokenizedDataset validation;
  data::TokenizedDataset remainder;  // the train split without the validation reviews
  std::vector<int64_t> validation_indices;  // positions in the train split, ascending
  int64_t requested_size = 0;
  uint64_t seed = 0;
};

// Takes `size` reviews, as evenly spread over the labels as they allow, with
// a seeded shuffle within each label; the same train split, size and seed
// always give the same set. Throws whittle::Error unless 0 < size < the
// split's size.
ValidationSplit split_validation(const data::TokenizedDataset& train_set, int64_t size, uint64_t seed);

// Size, seed, per-label counts and a digest of the chosen positions: what a
// result measured on the set records, so that results on another set never mix.
nlohmann::json describe(const ValidationSplit& split);

// The examples at `indices`, in that order.
data::TokenizedDataset select_examples(const data::TokenizedDataset& dataset, const std::vector<int64_t>& indices);

}  // namespace whittle::experiments
