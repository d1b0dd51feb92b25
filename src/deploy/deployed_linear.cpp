#include "deploy/deployed_linear.h"

#include <cmath>

#include "passes/quantize/fixed_point.h"

namespace whittle::deploy {

DeployedLinear::DeployedLinear(const LinearRecord& record, const StoredTensor& weight, const StoredTensor& bias,
                               KernelIsa isa) {
  if (record.activation_pruning) {
    const ActivationPruning& pruning = *record.activation_pruning;
    activation_pruning_ = std::make_shared<passes::PruneTransformImpl>(torch::Tensor(), std::nullopt, pruning.settings,
                                                                        pruning.seed, pruning.threshold);
  }
  if (record.quantization) {
    const passes::IntegerQuantization& formats = *record.quantization;
    if (auto precision = IntegerLinear::precision_for(weight.values, formats.data_in, formats.weight)) {
      integer_.emplace(*precision, weight.values, formats.weight.frac_width, formats.data_in, bias.to_float(), isa);
      return;
    }
  }
  if (record.quantization) {
    input_format_ = record.quantization->data_in;
    weight_width_ = record.quantization->weight.width;
  }
  weight_ = weight.to_float();
  bias_ = bias.to_float();
}

bool DeployedLinear::fold_output_factor(double factor) {
  int exponent = 0;
  if (!integer_ || std::frexp(factor, &exponent) != 0.5) return false;
  integer_->scale_outputs(exponent - 1);
  return true;
}

torch::Tensor DeployedLinear::prune_input(const torch::Tensor& input) {
  return activation_pruning_ ? activation_pruning_->transform_input(input) : input;
}

torch::Tensor DeployedLinear::forward(const torch::Tensor& input) {
  torch::Tensor x = prune_input(input);
  if (integer_) return integer_->forward(x);
  if (input_format_) x = passes::fixed_point_quantize(x, *input_format_);
  return torch::linear(x, weight_, bias_);
}

std::vector<torch::Tensor> DeployedLinear::forward_shared(const std::vector<DeployedLinear*>& layers,
                                                          const torch::Tensor& input) {
  std::vector<const IntegerLinear*> integers;
  for (const DeployedLinear* layer : layers) {
    // Pruning draws its own mask for each layer, so its layers' inputs differ.
    if (layer->integer() == nullptr || layer->prunes_input()) break;
    if (!integers.empty() && !layer->integer()->reads_input_as(*integers.front())) break;
    integers.push_back(layer->integer());
  }
  if (!layers.empty() && integers.size() == layers.size()) return IntegerLinear::forward_shared(integers, input);
  std::vector<torch::Tensor> outputs;
  for (DeployedLinear* layer : layers) outputs.push_back(layer->forward(input));
  return outputs;
}

std::string DeployedLinear::engine() const {
  if (integer_) return to_string(integer_->precision()) + " (" + to_string(integer_->isa()) + ")";
  if (input_format_) {
    return "float (" + std::to_string(input_format_->width) + "-bit input, " + std::to_string(weight_width_) + "-bit weight)";
  }
  return "float";
}

}  // namespace whittle::deploy
