#pragma once
#include <torch/torch.h>

#include <span>
#include <vector>

namespace whittle::passes {

// The q-quantile of the magnitudes |x| of one or more float32 tensors taken
// together, with torch.quantile's linear interpolation: the values at ranks
// floor(r) and ceil(r) of the sorted magnitudes, r = q * (n - 1), joined by
// torch.lerp. For up to 2^24 elements (the most torch.quantile accepts) r is
// computed in float32 as torch does, so the result is bit-identical to
// torch::quantile(x.abs().flatten(), q); beyond that r is computed in double.
// A NaN anywhere gives NaN, as in torch.quantile.
//
// The two order statistics come from a radix selection on the float bits
// (for non-negative floats the bit patterns sort as the values do): one
// parallel pass counts the magnitudes by exponent and leading mantissa bits,
// a second gathers the few percent that share a bin with the two ranks, and
// nth_element picks among those; no sort of the data. This is what makes
// activation pruning by quantile affordable on every forward pass.
//
// Throws whittle::Error for an empty input or q outside [0, 1].
float magnitude_quantile(std::span<const torch::Tensor> tensors, double q);
float magnitude_quantile(const torch::Tensor& tensor, double q);

}  // namespace whittle::passes
