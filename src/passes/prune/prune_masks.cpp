#include "passes/prune/prune_masks.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "model/dropout_mask.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kGrain = 32768;

// keep[i] = |x[i]| > threshold; out[i] = x[i] * keep[i]. Written as a
// multiply, not a select, so that every float (NaN, -0) comes out as Mase's
// x * mask gives it; branch-free, and cloned for AVX2 and SSE4.1, so that it
// vectorizes and stays memory-bound.
__attribute__((target_clones("avx2", "sse4.1", "default"))) void mask_range(const float* __restrict in,
                                                                            float* __restrict out,
                                                                            uint8_t* __restrict keep, int64_t count,
                                                                            float threshold) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) {
    int kept = std::fabs(in[i]) > threshold;  // an int, not a select: GCC if-converts only this
    out[i] = in[i] * static_cast<float>(kept);
    keep[i] = static_cast<uint8_t>(kept);
  }
}

__attribute__((target_clones("avx2", "sse4.1", "default"))) void multiply_range(const float* __restrict in,
                                                                                const uint8_t* __restrict keep,
                                                                                float* __restrict out, int64_t count) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) out[i] = in[i] * static_cast<float>(keep[i]);
}

// A bool tensor's elements as the bytes 0 and 1 they are stored as.
uint8_t* bytes_of(torch::Tensor& mask) { return reinterpret_cast<uint8_t*>(mask.data_ptr<bool>()); }

class MaskByMagnitude : public torch::autograd::Function<MaskByMagnitude> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& x, double threshold) {
    torch::Tensor source = x.contiguous();
    torch::Tensor output = torch::empty_like(source, torch::MemoryFormat::Contiguous);
    torch::Tensor keep = torch::empty(source.sizes(), source.options().dtype(torch::kBool));
    const float* in = source.data_ptr<float>();
    float* out = output.data_ptr<float>();
    uint8_t* kept = bytes_of(keep);
    const auto limit = static_cast<float>(threshold);
    at::parallel_for(0, source.numel(), kGrain, [&](int64_t begin, int64_t end) {
      mask_range(in + begin, out + begin, kept + begin, end - begin, limit);
    });
    context->save_for_backward({keep});
    return output;
  }

  static variable_list backward(AutogradContext* context, variable_list grad_outputs) {
    torch::Tensor keep = context->get_saved_variables()[0];
    torch::Tensor grad = grad_outputs[0].contiguous();
    torch::Tensor grad_input = torch::empty_like(grad, torch::MemoryFormat::Contiguous);
    const float* in = grad.data_ptr<float>();
    const uint8_t* kept = bytes_of(keep);
    float* out = grad_input.data_ptr<float>();
    at::parallel_for(0, grad.numel(), kGrain, [&](int64_t begin, int64_t end) {
      multiply_range(in + begin, kept + begin, out + begin, end - begin);
    });
    return {grad_input, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor random_keep_mask(at::IntArrayRef sizes, double sparsity, at::Generator& generator) {
  return torch::rand(sizes, generator, torch::kFloat32).lt(sparsity).logical_not_();
}

torch::Tensor hashed_random_keep_mask(at::IntArrayRef sizes, double sparsity, uint64_t seed) {
  torch::Tensor keep = torch::empty(sizes, torch::TensorOptions().dtype(torch::kBool));
  // Dropout's mask is this criterion: dropped where hash / 2^32 < p.
  const model::detail::DropoutMask mask(seed, sparsity);
  uint8_t* bytes = bytes_of(keep);
  at::parallel_for(0, keep.numel(), kGrain, [&](int64_t begin, int64_t end) {
    model::detail::fill_keep_run(mask, static_cast<uint64_t>(begin), end - begin, bytes + begin);
  });
  return keep;
}

torch::Tensor hashed_random_keep_mask_of_leading_rows(at::IntArrayRef sizes, int64_t whole_rows, double sparsity,
                                                      uint64_t seed) {
  if (sizes.size() < 2 || sizes[1] > whole_rows) {
    throw Error("random keep mask: " + c10::str(sizes) + " is not the leading rows of " + std::to_string(whole_rows));
  }
  torch::Tensor keep = torch::empty(sizes, torch::TensorOptions().dtype(torch::kBool));
  const model::detail::DropoutMask mask(seed, sparsity);
  const int64_t rows = sizes[1];
  int64_t row_elements = 1;
  for (size_t d = 2; d < sizes.size(); ++d) row_elements *= sizes[d];
  uint8_t* bytes = bytes_of(keep);
  // Row r of example b is row r of example b in the whole tensor too.
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, row_elements));
  at::parallel_for(0, sizes[0] * rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t example = row / rows;
      const int64_t whole_row = example * whole_rows + row % rows;
      model::detail::fill_keep_run(mask, static_cast<uint64_t>(whole_row * row_elements), row_elements,
                                   bytes + row * row_elements);
    }
  });
  return keep;
}

torch::Tensor magnitude_keep_mask(const torch::Tensor& values, float threshold) {
  return values.detach().abs().gt(threshold);
}

torch::Tensor mask_by_magnitude(const torch::Tensor& x, float threshold) {
  if (x.scalar_type() != torch::kFloat32) return x * x.detach().abs().gt(threshold);
  return MaskByMagnitude::apply(x, static_cast<double>(threshold));
}

}  // namespace whittle::passes
