#pragma once
#include <string>

#include "model/linear.h"
#include "passes/quantize/quantize_config.h"

namespace whittle::passes {

// Fake-quantizes a Linear as Mase's LinearInteger does: the input, weight and
// bias each go through the fixed-point quantizer before the matmul; the
// output stays float. The weight is re-quantized every forward pass: it is
// small next to the activations, and this keeps training (QAT) correct with
// no cache to invalidate after optimizer steps.
class QuantizeTransformImpl : public model::LinearTransformImpl {
 public:
  static constexpr const char* kKind = "quantize";

  explicit QuantizeTransformImpl(const IntegerQuantization& quantization);

  std::string kind() const override { return kKind; }
  // Mase's config keys: {"name": "integer", "data_in_width": 8, ...}.
  nlohmann::json describe() const override;
  torch::Tensor transform_input(const torch::Tensor& input) override;
  torch::Tensor transform_weight(const torch::Tensor& weight) override;
  torch::Tensor transform_bias(const torch::Tensor& bias) override;

  const IntegerQuantization& quantization() const { return quantization_; }

 private:
  IntegerQuantization quantization_;
};
TORCH_MODULE(QuantizeTransform);

}  // namespace whittle::passes
