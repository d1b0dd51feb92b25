#include "train/optimizer.h"

#include "util/error.h"

namespace whittle::train {
namespace {

bool decays(const std::string& name) {
  return name.find("LayerNorm") == std::string::npos && !name.ends_with("bias");
}

}  // namespace

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
