#include "model/linear.h"

#include <algorithm>

namespace whittle::model {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}));
  bias = register_parameter("bias", torch::zeros({out_features}));
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
}

torch::Tensor LinearImpl::forward(const torch::Tensor& input) {
  if (transforms_.empty()) return torch::linear(input, weight, bias);
  torch::Tensor x = input;
  torch::Tensor w = weight;
  torch::Tensor b = bias;
  for (const auto& transform : transforms_) {
    x = transform->transform_input(x);
    w = transform->transform_weight(w);
    b = transform->transform_bias(b);
  }
  torch::Tensor y = torch::linear(x, w, b);
  for (const auto& transform : transforms_) y = transform->transform_output(x, y);
  return y;
}

bool LinearImpl::has_input_statistic() const {
  return std::any_of(transforms_.begin(), transforms_.end(),
                     [](const auto& transform) { return transform->has_input_statistic(); });
}

void LinearImpl::set_input_statistic_mode(InputStatisticMode mode) {
  for (const auto& transform : transforms_) transform->set_input_statistic_mode(mode);
}

bool LinearImpl::input_statistic_needs_every_row() const {
  return std::any_of(transforms_.begin(), transforms_.end(), [](const auto& transform) {
    return transform->has_input_statistic() && !transform->input_statistic_is_positional();
  });
}

void LinearImpl::set_whole_rows(int64_t rows) {
  for (const auto& transform : transforms_) transform->set_whole_rows(rows);
}

void LinearImpl::record_input_statistics(const torch::Tensor& input) {
  auto last = std::find_if(transforms_.rbegin(), transforms_.rend(),
                           [](const auto& transform) { return transform->has_input_statistic(); });
  if (last == transforms_.rend()) return;
  torch::Tensor x = input;
  for (auto it = transforms_.begin(); it != std::prev(last.base()); ++it) x = (*it)->transform_input(x);
  (*last)->record_input_statistic(x);
}

torch::Tensor LinearImpl::effective_weight() {
  torch::Tensor w = weight;
  for (const auto& transform : transforms_) w = transform->transform_weight(w);
  return w;
}

torch::Tensor LinearImpl::effective_bias() {
  torch::Tensor b = bias;
  for (const auto& transform : transforms_) b = transform->transform_bias(b);
  return b;
}

void LinearImpl::attach(const std::shared_ptr<LinearTransformImpl>& transform) {
  // Registered under its kind so that its buffers and parameters get stable
  // names, e.g. "bert.pooler.dense.prune.weight_mask".
  register_module(transform->kind(), transform);
  transforms_.push_back(transform);
}

std::vector<std::shared_ptr<LinearTransformImpl>> LinearImpl::detach(const std::string& kind) {
  std::vector<std::shared_ptr<LinearTransformImpl>> removed;
  auto is_kind = [&](const auto& transform) { return transform->kind() == kind; };
  std::copy_if(transforms_.begin(), transforms_.end(), std::back_inserter(removed), is_kind);
  transforms_.erase(std::remove_if(transforms_.begin(), transforms_.end(), is_kind), transforms_.end());
  if (!removed.empty()) unregister_module(kind);
  return removed;
}

std::vector<std::pair<std::string, Linear>> find_linears(torch::nn::Module& root) {
  std::vector<std::pair<std::string, Linear>> found;
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    if (auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value())) {
      found.emplace_back(item.key(), Linear(linear));
    }
  }
  return found;
}

}  // namespace whittle::model
