#include "experiments/mixed/quant_targets.h"

#include "util/error.h"

namespace whittle::experiments {

std::string to_string(TensorRole role) {
  switch (role) {
    case TensorRole::input: return "input";
    case TensorRole::weight: return "weight";
    case TensorRole::bias: return "bias";
  }
  return "weight";
}

TensorRole parse_tensor_role(const std::string& name) {
  for (TensorRole role : {TensorRole::input, TensorRole::weight, TensorRole::bias}) {
    if (to_string(role) == name) return role;
  }
  throw Error("unknown tensor role '" + name + "' (input, weight or bias)");
}

std::vector<QuantTarget> quant_targets(model::BertForSequenceClassification& model) {
  std::vector<QuantTarget> targets;
  for (const auto& [name, linear] : model::find_linears(*model)) {
    for (TensorRole role : {TensorRole::input, TensorRole::weight, TensorRole::bias}) targets.push_back({name, role});
  }
  return targets;
}

model::Linear linear_named(model::BertForSequenceClassification& model, const std::string& name) {
  for (auto& [found, linear] : model::find_linears(*model)) {
    if (found == name) return linear;
  }
  throw Error("the model has no Linear layer named " + name);
}

int64_t parameter_count(model::BertForSequenceClassification& model, const QuantTarget& target) {
  if (!is_parameter(target.role)) return 0;
  model::Linear linear = linear_named(model, target.linear);
  return target.role == TensorRole::weight ? linear->weight.numel() : linear->bias.numel();
}

OneTensorQuantizeImpl::OneTensorQuantizeImpl(TensorRole role, passes::FixedPointFormat format)
    : role_(role), format_(format) {}

nlohmann::json OneTensorQuantizeImpl::describe() const {
  return {{"tensor", to_string(role_)}, {"width", format_.width}, {"frac_width", format_.frac_width}};
}

torch::Tensor OneTensorQuantizeImpl::transform_input(const torch::Tensor& input) {
  return role_ == TensorRole::input ? passes::fixed_point_quantize(input, format_) : input;
}

torch::Tensor OneTensorQuantizeImpl::transform_weight(const torch::Tensor& weight) {
  return role_ == TensorRole::weight ? passes::fixed_point_quantize(weight, format_) : weight;
}

torch::Tensor OneTensorQuantizeImpl::transform_bias(const torch::Tensor& bias) {
  return role_ == TensorRole::bias ? passes::fixed_point_quantize(bias, format_) : bias;
}

}  // namespace whittle::experiments
