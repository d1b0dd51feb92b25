#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "data/tokenized.h"

namespace whittle::data {

struct Batch {
  torch::Tensor input_ids;       // [B, L] int64, padded with pad_id
  torch::Tensor attention_mask;  // [B, L] int64, 1 = real token
  torch::Tensor labels;          // [B] int64
  std::vector<int64_t> example_indices;  // rows of the dataset, in batch order
  int64_t real_tokens = 0;       // sum of unpadded lengths
};

struct BatchOptions {
  int64_t batch_size = 8;
  bool shuffle = false;          // training: random batch order (seeded)
  uint64_t seed = 0;
  // Padded lengths are rounded up to a multiple of this, so that only a few
  // distinct shapes occur and the allocator can reuse its buffers.
  int64_t length_multiple = 32;
  // Examples are sorted by length inside windows of this many batches, so
  // that a batch holds similar lengths (little padding) while training order
  // stays random. 0 disables bucketing (batches in dataset order).
  int64_t bucket_batches = 64;
};

// Which examples go into which batch, in the order they are to be run. For
// the same dataset, options and epoch the plan is always the same.
std::vector<std::vector<int64_t>> plan_batches(const TokenizedDataset& dataset, const BatchOptions& options,
                                               int64_t epoch);

// Rows are padded to the longest rounded up to length_multiple, but never
// beyond length_cap (the model's positions) when it is set.
Batch make_batch(const TokenizedDataset& dataset, const std::vector<int64_t>& example_indices,
                 int32_t pad_id, int64_t length_multiple, int64_t length_cap = 0);

}  // namespace whittle::data
