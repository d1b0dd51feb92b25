#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace whittle::model {

// Multi-head scaled-dot-product attention for right-padded batches, computed
// one (example, head, block of queries) tile at a time so that the scores of
// a tile stay in cache: scores, softmax, dropout and the product with V are
// done while the tile is hot, instead of in four passes over a
// [B, heads, L, L] tensor in memory. Keys past an example's length are
// skipped entirely (they would get zero weight anyway).
//
// queries [B, Q, H] (already multiplied by 1/sqrt(head size)), keys and
// values [B, L, H], key_lengths [B] int64 (1..L). Returns [B, Q, H] with the
// heads side by side, as BERT's attention output. Dropout on the attention
// probabilities uses the same counter-based mask as fast_dropout; pass
// dropout_probability 0 to disable it. Differentiable in queries, keys, values.
torch::Tensor tiled_attention(const torch::Tensor& queries, const torch::Tensor& keys, const torch::Tensor& values,
                              const torch::Tensor& key_lengths, int64_t heads, double dropout_probability,
                              uint64_t seed);

// The lengths of right-padded rows of a [B, L] 0/1 mask, or an undefined
// tensor when some row is not of the form 1…1 0…0.
torch::Tensor right_padded_lengths(const torch::Tensor& attention_mask);

}  // namespace whittle::model
