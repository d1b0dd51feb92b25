#include "passes/quantize/quantize_transform.h"

namespace whittle::passes {

QuantizeTransformImpl::QuantizeTransformImpl(const IntegerQuantization& quantization) : quantization_(quantization) {
  validate_fixed_point_format(quantization.data_in, FixedPointOperand::input);
  validate_fixed_point_format(quantization.weight, FixedPointOperand::parameter);
  validate_fixed_point_format(quantization.bias, FixedPointOperand::parameter);
}

nlohmann::json QuantizeTransformImpl::describe() const { return to_json(quantization_); }

torch::Tensor QuantizeTransformImpl::transform_input(const torch::Tensor& input) {
  return fixed_point_quantize(input, quantization_.data_in);
}

torch::Tensor QuantizeTransformImpl::transform_weight(const torch::Tensor& weight) {
  return fixed_point_quantize(weight, quantization_.weight);
}

torch::Tensor QuantizeTransformImpl::transform_bias(const torch::Tensor& bias) {
  return fixed_point_quantize(bias, quantization_.bias);
}

}  // namespace whittle::passes
