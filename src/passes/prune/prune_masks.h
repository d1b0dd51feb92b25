#pragma once
#include <ATen/core/Generator.h>
#include <torch/torch.h>

namespace whittle::passes {

// Masks are bool tensors, true where an element is kept.

// Mase's random criterion: dropped where rand < sparsity, one float32 draw
// per element from `generator`.
torch::Tensor random_keep_mask(at::IntArrayRef sizes, double sparsity, at::Generator& generator);

// The same criterion with rand drawn from a counter-based hash of (seed,
// element index): uniform in [0, 1) on a 2^-32 grid, filled in one parallel,
// vectorised pass. Activation masks are drawn on every forward pass, where a
// sequential generator would cost more than the layer's matmul.
torch::Tensor hashed_random_keep_mask(at::IntArrayRef sizes, double sparsity, uint64_t seed);

// The leading sizes[1] rows, along dimension 1, of hashed_random_keep_mask
// over `sizes` with dimension 1 widened to `whole_rows`: the same draws for
// those elements, without drawing the rest.
torch::Tensor hashed_random_keep_mask_of_leading_rows(at::IntArrayRef sizes, int64_t whole_rows, double sparsity,
                                                      uint64_t seed);

// Mase's l1 criterion against a threshold: kept where |value| > threshold.
torch::Tensor magnitude_keep_mask(const torch::Tensor& values, float threshold);

// x * (|x| > threshold) in one fused pass, as Mase's x * mask computes it
// (NaN * 0 stays NaN, -x * 0 is -0). Its gradient is the incoming gradient
// times the same mask. For float32 the mask is kept as bytes for the
// backward pass; other dtypes use the composed torch ops.
torch::Tensor mask_by_magnitude(const torch::Tensor& x, float threshold);

}  // namespace whittle::passes
