#include "model/fused_ops.h"

#include <ATen/Parallel.h>

#include "model/dropout_mask.h"
#include "util/hash.h"

namespace whittle::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using detail::DropoutMask;

// out[i] = in[i] * scale where kept, 0 where dropped.
torch::Tensor apply_mask(const torch::Tensor& input, const DropoutMask& mask) {
  torch::Tensor source = input.contiguous();
  torch::Tensor output = torch::empty_like(source);
  const float* in = source.data_ptr<float>();
  float* out = output.data_ptr<float>();
  at::parallel_for(0, source.numel(), 16384, [&](int64_t begin, int64_t end) {
    detail::apply_dropout_run(mask, static_cast<uint64_t>(begin), end - begin, in + begin, out + begin);
  });
  return output;
}

class FastDropout : public torch::autograd::Function<FastDropout> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& input, double probability,
                               int64_t seed) {
    context->saved_data["probability"] = probability;
    context->saved_data["seed"] = seed;
    return apply_mask(input, DropoutMask(static_cast<uint64_t>(seed), probability));
  }

  static variable_list backward(AutogradContext* context, variable_list grad_outputs) {
    double probability = context->saved_data["probability"].toDouble();
    auto seed = static_cast<uint64_t>(context->saved_data["seed"].toInt());
    return {apply_mask(grad_outputs[0], DropoutMask(seed, probability)), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool dropout_keeps(uint64_t seed, int64_t index, double probability) {
  return DropoutMask(seed, probability).keeps(static_cast<uint64_t>(index));
}

torch::Tensor fast_dropout(const torch::Tensor& input, double probability, uint64_t seed) {
  TORCH_CHECK(probability >= 0.0 && probability < 1.0, "dropout probability must be in [0, 1)");
  if (probability == 0.0) return input;
  if (input.scalar_type() != torch::kFloat32) return torch::dropout(input, probability, true);
  return FastDropout::apply(input, probability, static_cast<int64_t>(seed));
}

uint64_t SeedSequence::next() {
  state_ = splitmix64(state_);
  return state_;
}

}  // namespace whittle::model
