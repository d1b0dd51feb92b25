#include "train/optimizer.h"

#include "util/error.h"

namespace whittle::train {
namespace {

bool decays(const std::string& name) {
  return name.find("LayerNorm") == std::string::npos && !name.ends_with("bias");
}

}  // namespace

void validate_optimizer_settings(const OptimizerSettings& settings,
                                 const std::function<void(const std::string&)>& fail) {
  const auto [batch_size, learning_rate, weight_decay, warmup_ratio, max_grad_norm] = settings;
  if (batch_size < 1) fail("batch size must be at least 1, got " + std::to_string(batch_size));
  if (!(learning_rate > 0.0)) fail("learning rate must be positive, got " + std::to_string(learning_rate));
  if (weight_decay < 0.0) fail("weight decay must not be negative, got " + std::to_string(weight_decay));
  if (warmup_ratio < 0.0 || warmup_ratio >= 1.0) fail("warm-up ratio must be in [0, 1), got " + std::to_string(warmup_ratio));
  if (max_grad_norm < 0.0) fail("max gradient norm must not be negative, got " + std::to_string(max_grad_norm));
}

torch::optim::AdamW make_adamw(torch::nn::Module& module, double learning_rate, double weight_decay) {
  std::vector<torch::Tensor> with_decay, without_decay;
  for (const auto& item : module.named_parameters()) {
    if (!item.value().requires_grad()) continue;
    (decays(item.key()) ? with_decay : without_decay).push_back(item.value());
  }
  auto group_options = [&](double decay) {
    auto adamw = std::make_unique<torch::optim::AdamWOptions>(learning_rate);
    adamw->weight_decay(decay).eps(1e-8).betas({0.9, 0.999});
    return adamw;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!with_decay.empty()) groups.emplace_back(with_decay, group_options(weight_decay));
  if (!without_decay.empty()) groups.emplace_back(without_decay, group_options(0.0));
  if (groups.empty()) throw Error("nothing to train: the model has no trainable parameters");
  return torch::optim::AdamW(std::move(groups), torch::optim::AdamWOptions(learning_rate));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double rate) {
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(rate);
  }
}

}  // namespace whittle::train
