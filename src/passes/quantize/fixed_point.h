#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace whittle::passes {

// A signed fixed-point format: `width` bits in all, `frac_width` of them after
// the binary point. As in Mase, frac_width may be 0, negative (steps coarser
// than 1) or larger than width (a range below ±1).
struct FixedPointFormat {
  int64_t width = 8;
  int64_t frac_width = 4;

  bool operator==(const FixedPointFormat&) const = default;
};

// width from 1 to 32; frac_width from -126 to 127, so that the scale 2^f and
// its inverse are normal float32 numbers. Throws whittle::Error otherwise.
void validate_fixed_point_format(const FixedPointFormat& format);

// Mase's integer quantizer:
//   q(x) = clamp(round(x * 2^f), -2^(w-1), 2^(w-1) - 1) / 2^f
// with round half to even, computed in the dtype of x. The backward pass is
// straight-through: the gradient passes unchanged, also where x was clamped.
// For float32 this is one fused parallel pass, bit-identical to the composed
// torch ops below; other floating dtypes use the composed ops.
torch::Tensor fixed_point_quantize(const torch::Tensor& x, int64_t width, int64_t frac_width);
torch::Tensor fixed_point_quantize(const torch::Tensor& x, const FixedPointFormat& format);

// torch::clamp(torch::round(x * 2^f), lo, hi) / 2^f, exactly as Mase writes
// it (no autograd override): the reference the fused kernel is tested against.
torch::Tensor fixed_point_quantize_reference(const torch::Tensor& x, int64_t width, int64_t frac_width);

}  // namespace whittle::passes
