#include "passes/quantize/fixed_point.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <string>

#include "util/error.h"

namespace whittle::passes {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The clamp bounds as torch gets them: Mase passes Python ints, which torch
// converts to the tensor's dtype, so for float32 and w >= 26 the upper bound
// 2^(w-1) - 1 rounds up to 2^(w-1) (2^31 for w = 32).
int64_t lowest_integer(int64_t width) { return -(int64_t{1} << (width - 1)); }
int64_t highest_integer(int64_t width) { return (int64_t{1} << (width - 1)) - 1; }

struct KernelConstants {
  float scale;
  float inverse_scale;
  float lowest;
  float highest;
};

KernelConstants kernel_constants(int64_t width, int64_t frac_width) {
  return {static_cast<float>(std::ldexp(1.0, static_cast<int>(frac_width))),
          static_cast<float>(std::ldexp(1.0, static_cast<int>(-frac_width))),
          static_cast<float>(lowest_integer(width)), static_cast<float>(highest_integer(width))};
}

// The elements in [0, count), each in the order and float32 precision of the
// composed ops. The comparisons are written so that NaN falls through
// unchanged, as torch's clamp propagates it. Multiplying by 2^-f instead of
// dividing by 2^f gives the same float: both are the one correctly rounded
// value of the same real number.
//
// std::nearbyint rounds in the current mode, half to even by default, like
// torch.round. Without SSE4.1 it is a libm call per element; the clones for
// SSE4.1 and AVX2 (picked at load time) inline it as roundps, so that with
// `omp simd` the loop vectorizes and the pass stays memory-bound.
__attribute__((target_clones("avx2", "sse4.1", "default"))) void quantize_range(
    const float* __restrict in, float* __restrict out, int64_t count, KernelConstants constants) {
  const float scale = constants.scale;
  const float inverse_scale = constants.inverse_scale;
  const float lowest = constants.lowest;
  const float highest = constants.highest;
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) {
    float rounded = std::nearbyint(in[i] * scale);
    float clamped = rounded < lowest ? lowest : (rounded > highest ? highest : rounded);
    out[i] = clamped * inverse_scale;
  }
}

torch::Tensor quantize_float32(const torch::Tensor& x, int64_t width, int64_t frac_width) {
  torch::Tensor source = x.contiguous();
  torch::Tensor output = torch::empty_like(source, torch::MemoryFormat::Contiguous);
  const float* in = source.data_ptr<float>();
  float* out = output.data_ptr<float>();
  const KernelConstants constants = kernel_constants(width, frac_width);
  at::parallel_for(0, source.numel(), 16384, [&](int64_t begin, int64_t end) {
    quantize_range(in + begin, out + begin, end - begin, constants);
  });
  return output;
}

torch::Tensor quantize_forward(const torch::Tensor& x, int64_t width, int64_t frac_width) {
  if (x.scalar_type() == torch::kFloat32) return quantize_float32(x, width, frac_width);
  return fixed_point_quantize_reference(x, width, frac_width);
}

class FixedPointQuantize : public torch::autograd::Function<FixedPointQuantize> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& x, int64_t width, int64_t frac_width) {
    return quantize_forward(x, width, frac_width);
  }

  // Straight-through estimator, as Mase's my_round and my_clamp.
  static variable_list backward(AutogradContext* context, variable_list grad_outputs) {
    return {grad_outputs[0], torch::Tensor(), torch::Tensor()};
  }
};

void check_floating(const torch::Tensor& x) {
  if (!x.is_floating_point()) {
    throw Error("fixed-point quantization needs a floating-point tensor, got " +
                std::string(c10::toString(x.scalar_type())));
  }
}

// What the float32 kernel can compute: 2^f must be a normal float.
void check_kernel_format(const FixedPointFormat& format) {
  if (format.width < 1 || format.width > 32) {
    throw Error("fixed-point width must be from 1 to 32, got " + std::to_string(format.width));
  }
  if (format.frac_width < -126 || format.frac_width > 127) {
    throw Error("fixed-point frac width must be from -126 to 127, got " + std::to_string(format.frac_width));
  }
}

}  // namespace

void validate_fixed_point_format(const FixedPointFormat& format, FixedPointOperand operand) {
  check_kernel_format(format);
  const int64_t highest_frac = operand == FixedPointOperand::input ? format.width : 127;
  if (format.frac_width < 0 || format.frac_width > highest_frac) {
    const std::string range = operand == FixedPointOperand::input
                                  ? "0 to the width (" + std::to_string(format.width) + ") for a Linear's input"
                                  : std::string("0 to 127 for a weight or bias");
    throw Error("fixed-point frac width must be from " + range + ", got " + std::to_string(format.frac_width));
  }
}

torch::Tensor fixed_point_quantize(const torch::Tensor& x, int64_t width, int64_t frac_width) {
  check_kernel_format({width, frac_width});
  check_floating(x);
  return FixedPointQuantize::apply(x, width, frac_width);
}

torch::Tensor fixed_point_quantize(const torch::Tensor& x, const FixedPointFormat& format) {
  return fixed_point_quantize(x, format.width, format.frac_width);
}

torch::Tensor fixed_point_quantize_reference(const torch::Tensor& x, int64_t width, int64_t frac_width) {
  check_kernel_format({width, frac_width});
  check_floating(x);
  double scale = std::ldexp(1.0, static_cast<int>(frac_width));
  return torch::clamp(torch::round(x * scale), lowest_integer(width), highest_integer(width)) / scale;
}

}  // namespace whittle::passes
