#pragma once
#include <cstdint>

#include <torch/torch.h>

#include "model/bert.h"

namespace whittle::model {

// Dropout on the attention probabilities while training, drawn from the
// model's seed stream. The default, none, is inference.
struct AttentionDropout {
  double probability = 0.0;
  bool training = false;
  SeedSequence* seeds = nullptr;
};

// BERT's multi-head attention after the projections, for the model and the
// deployed engine alike: queries [B, Q, H] already multiplied by
// 1/sqrt(head size), keys and values [B, L, H]. The tiled kernel when `mask`
// has key lengths; otherwise scores, softmax and context over the whole
// [B, heads, Q, L]. Returns [B, Q, H], the heads side by side.
torch::Tensor multi_head_attention(const torch::Tensor& scaled_queries, const torch::Tensor& keys,
                                   const torch::Tensor& values, const AttentionMask& mask, int64_t heads,
                                   const AttentionDropout& dropout = {});

}  // namespace whittle::model
