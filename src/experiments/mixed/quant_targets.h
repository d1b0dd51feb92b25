#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/bert.h"
#include "model/linear.h"
#include "passes/quantize/fixed_point.h"

namespace whittle::experiments {

// The three tensors of a Linear that Mase's integer quantizer rounds.
enum class TensorRole { input, weight, bias };

std::string to_string(TensorRole role);
TensorRole parse_tensor_role(const std::string& name);  // throws whittle::Error
// Weights and biases are stored with the model and count towards its bits;
// inputs are computed at run time.
inline bool is_parameter(TensorRole role) { return role != TensorRole::input; }

// One tensor a mixed-precision search gives its own format.
struct QuantTarget {
  std::string linear;  // module path, "bert.encoder.layer.0.attention.self.query"
  TensorRole role = TensorRole::weight;

  // "bert.encoder.layer.0.attention.self.query:weight"
  std::string key() const { return linear + ":" + to_string(role); }
  bool operator==(const QuantTarget&) const = default;
};

// Every Linear's input, weight and bias, in module order.
std::vector<QuantTarget> quant_targets(model::BertForSequenceClassification& model);

// The Linear at `name`; throws whittle::Error naming it when there is none.
model::Linear linear_named(model::BertForSequenceClassification& model, const std::string& name);

// Elements of a weight or bias (0 for an input, which the model does not store).
int64_t parameter_count(model::BertForSequenceClassification& model, const QuantTarget& target);

// Rounds one tensor of a Linear to a fixed-point format and leaves the other
// two in float: what a sensitivity measurement attaches. A probe for
// measurements only; models are never saved with it.
class OneTensorQuantizeImpl : public model::LinearTransformImpl {
 public:
  static constexpr const char* kKind = "quantize-one-tensor";
  OneTensorQuantizeImpl(TensorRole role, passes::FixedPointFormat format);

  std::string kind() const override { return kKind; }
  nlohmann::json describe() const override;
  torch::Tensor transform_input(const torch::Tensor& input) override;
  torch::Tensor transform_weight(const torch::Tensor& weight) override;
  torch::Tensor transform_bias(const torch::Tensor& bias) override;

 private:
  TensorRole role_;
  passes::FixedPointFormat format_;
};
TORCH_MODULE(OneTensorQuantize);

}  // namespace whittle::experiments
