#include "experiments/model_size.h"

#include <set>

#include "passes/prune/prune_transform.h"
#include "passes/quantize/quantize_transform.h"
#include "util/error.h"

namespace whittle::experiments {
namespace {

int64_t nonzero_count(const torch::Tensor& tensor) { return tensor.count_nonzero().item<int64_t>(); }

LinearSize measure_linear(const std::string& name, model::LinearImpl& linear) {
  torch::NoGradGuard no_grad;
  LinearSize size;
  size.name = name;
  size.weights = linear.weight.numel();
  size.biases = linear.bias.defined() ? linear.bias.numel() : 0;
  size.kept_weights = size.weights;
  if (auto prune = linear.find_transform<passes::PruneTransformImpl>()) {
    const torch::Tensor& mask = prune->weight_mask();
    if (mask.defined()) {
      if (mask.sizes() != linear.weight.sizes()) {
        throw Error("the weight mask of " + name + " does not have the shape of its weight");
      }
      size.kept_weights = nonzero_count(mask);
    }
  }
  if (auto quantize = linear.find_transform<passes::QuantizeTransformImpl>()) {
    size.weight_width = quantize->quantization().weight.width;
    size.bias_width = quantize->quantization().bias.width;
  }
  size.nonzero_weights = nonzero_count(linear.effective_weight());
  if (size.biases > 0) size.nonzero_biases = nonzero_count(linear.effective_bias());
  return size;
}

}  // namespace

ModelSize measure_model_size(torch::nn::Module& root) {
  ModelSize size;
  std::set<const torch::TensorImpl*> linear_parameters;
  for (auto& [name, linear] : model::find_linears(root)) {
    LinearSize layer = measure_linear(name, *linear);
    size.linear_weight_bits += layer.weight_bits();
    size.linear_bias_bits += layer.bias_bits();
    size.linear_weights += layer.weights;
    size.linear_kept_weights += layer.kept_weights;
    size.linear_nonzero_weights += layer.nonzero_weights;
    size.linear_biases += layer.biases;
    size.linear_nonzero_biases += layer.nonzero_biases;
    size.linears.push_back(std::move(layer));
    linear_parameters.insert(linear->weight.unsafeGetTensorImpl());
    if (linear->bias.defined()) linear_parameters.insert(linear->bias.unsafeGetTensorImpl());
  }
  torch::NoGradGuard no_grad;
  for (const auto& parameter : root.parameters(/*recurse=*/true)) {
    if (linear_parameters.contains(parameter.unsafeGetTensorImpl())) continue;
    size.other_parameters += parameter.numel();
    size.other_nonzero_parameters += nonzero_count(parameter);
  }
  size.other_bits = size.other_parameters * 32;
  return size;
}

ModelSize measure_model_size(model::BertForSequenceClassification& model) { return measure_model_size(*model); }

nlohmann::json to_json(const LinearSize& size) {
  return {{"weights", size.weights},
          {"kept_weights", size.kept_weights},
          {"nonzero_weights", size.nonzero_weights},
          {"weight_width", size.weight_width},
          {"weight_bits", size.weight_bits()},
          {"biases", size.biases},
          {"nonzero_biases", size.nonzero_biases},
          {"bias_width", size.bias_width},
          {"bias_bits", size.bias_bits()}};
}

nlohmann::json to_json(const ModelSize& size) {
  nlohmann::json linears = nlohmann::json::object();
  for (const auto& layer : size.linears) linears[layer.name] = to_json(layer);
  return {{"total_bits", size.total_bits()},
          {"linear_bits", size.linear_bits()},
          {"linear_weight_bits", size.linear_weight_bits},
          {"linear_bias_bits", size.linear_bias_bits},
          {"other_bits", size.other_bits},
          {"parameters", size.parameters()},
          {"linear_weights", size.linear_weights},
          {"linear_kept_weights", size.linear_kept_weights},
          {"linear_nonzero_weights", size.linear_nonzero_weights},
          {"linear_biases", size.linear_biases},
          {"linear_nonzero_biases", size.linear_nonzero_biases},
          {"other_parameters", size.other_parameters},
          {"other_nonzero_parameters", size.other_nonzero_parameters},
          {"linears", linears}};
}

}  // namespace whittle::experiments
