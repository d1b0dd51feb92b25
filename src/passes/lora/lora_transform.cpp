#include "passes/lora/lora_transform.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "util/error.h"

namespace whittle::passes {

LoraTransformImpl::LoraTransformImpl(int64_t in_features, int64_t out_features, int64_t rank, double alpha,
                                     double dropout, uint64_t init_seed, uint64_t dropout_seed)
    : rank_(rank), alpha_(alpha), dropout_(dropout), dropout_seeds_(dropout_seed) {
  if (rank < 1) throw Error("LoRA rank must be at least 1, got " + std::to_string(rank));
  if (!(dropout >= 0.0 && dropout < 1.0)) throw Error("LoRA dropout must be from 0 to below 1");
  // kaiming_uniform_(a = sqrt(5)) bounds A by 1 / sqrt(fan_in); drawn from a
  // generator of our own so that the pass does not depend on global RNG state.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(init_seed);
  double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  lora_A = register_parameter("lora_A", torch::empty({rank, in_features}).uniform_(-bound, bound, generator));
  lora_B = register_parameter("lora_B", torch::zeros({out_features, rank}));
}

nlohmann::json LoraTransformImpl::describe() const {
  return {{"rank", rank_}, {"lora_alpha", alpha_}, {"lora_dropout", dropout_}};
}

torch::Tensor LoraTransformImpl::transform_output(const torch::Tensor& input, const torch::Tensor& output) {
  torch::Tensor x = input;
  if (is_training() && dropout_ > 0.0) x = model::fast_dropout(input, dropout_, dropout_seeds_.next());
  torch::Tensor update = torch::linear(torch::linear(x, lora_A), lora_B);
  return output.add(update, scaling());
}

torch::Tensor LoraTransformImpl::delta_weight() const { return torch::matmul(lora_B, lora_A) * scaling(); }

}  // namespace whittle::passes
