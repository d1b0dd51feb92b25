#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace whittle::passes {

// A signed fixed-point format: `width` bits in all, `frac_width` of them after
// the binary point. Mase's quantizer computes any frac_width, and so does
// fixed_point_quantize; validate_fixed_point_format gives what a
// configuration may ask for.
struct FixedPointFormat {
  int64_t width = 8;
  int64_t frac_width = 4;

  bool operator==(const FixedPointFormat&) const = default;
};

// What a format quantizes: a Linear's input (activations, of magnitude one
// to tens) or one of its parameters (weight, bias: mostly well below one).
enum class FixedPointOperand { input, parameter };

// The formats a configuration may ask for: width from 1 to 32, and a frac
// width from 0 to the width for an input (a larger one leaves a range below
// ±0.5, which clamps every activation and quietly drops a model to chance),
// from 0 to 127 for a parameter (small weights are routinely stored with a
// frac width above the width). Throws whittle::Error otherwise.
// fixed_point_quantize itself takes any frac width from -126 to 127, as
// Mase's formula does.
void validate_fixed_point_format(const FixedPointFormat& format, FixedPointOperand operand);

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
