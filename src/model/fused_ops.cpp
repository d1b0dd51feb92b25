#include "model/fused_ops.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <limits>

namespace whittle::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// A 32-bit integer hash with good avalanche (the "lowbias32" constants);
// cheap enough that dropout stays memory-bound.
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct MaskParameters {
  uint32_t key_low;
  uint32_t key_high;
  uint32_t drop_below;  // an element is dropped when its hash is below this
  float scale;
};

MaskParameters mask_parameters(uint64_t seed, double probability) {
  uint64_t key = mix64(seed);
  double threshold = std::ldexp(probability, 32);
  double capped = std::min(threshold, static_cast<double>(std::numeric_limits<uint32_t>::max()));
  return {static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(capped),
          static_cast<float>(1.0 / (1.0 - probability))};
}

inline bool keeps(const MaskParameters& mask, uint64_t index) {
  uint32_t low = static_cast<uint32_t>(index) ^ mask.key_low;
  uint32_t high = static_cast<uint32_t>(index >> 32) + mask.key_high;
  return mix32(low + mix32(high)) >= mask.drop_below;
}

// out[i] = in[i] * scale where kept, 0 where dropped.
torch::Tensor apply_mask(const torch::Tensor& input, const MaskParameters& mask) {
  torch::Tensor source = input.contiguous();
  torch::Tensor output = torch::empty_like(source);
  const float* in = source.data_ptr<float>();
  float* out = output.data_ptr<float>();
  at::parallel_for(0, source.numel(), 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      out[i] = keeps(mask, static_cast<uint64_t>(i)) ? in[i] * mask.scale : 0.0f;
    }
  });
  return output;
}

class FastDropout : public torch::autograd::Function<FastDropout> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& input, double probability,
                               int64_t seed) {
    context->saved_data["probability"] = probability;
    context->saved_data["seed"] = seed;
    return apply_mask(input, mask_parameters(static_cast<uint64_t>(seed), probability));
  }

  static variable_list backward(AutogradContext* context, variable_list grad_outputs) {
    double probability = context->saved_data["probability"].toDouble();
    auto seed = static_cast<uint64_t>(context->saved_data["seed"].toInt());
    return {apply_mask(grad_outputs[0], mask_parameters(seed, probability)), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool dropout_keeps(uint64_t seed, int64_t index, double probability) {
  return keeps(mask_parameters(seed, probability), static_cast<uint64_t>(index));
}

torch::Tensor fast_dropout(const torch::Tensor& input, double probability, uint64_t seed) {
  TORCH_CHECK(probability >= 0.0 && probability < 1.0, "dropout probability must be in [0, 1)");
  if (probability == 0.0) return input;
  if (input.scalar_type() != torch::kFloat32) return torch::dropout(input, probability, true);
  return FastDropout::apply(input, probability, static_cast<int64_t>(seed));
}

uint64_t SeedSequence::next() {
  state_ = mix64(state_);
  return state_;
}

}  // namespace whittle::model
