#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace whittle::model {

// What a pass attaches to a Linear layer to change how it computes, in the
// spirit of Mase's module replacement: quantization rewrites the input, weight
// and bias; pruning masks them; LoRA adds a low-rank term to the output.
// Transforms are modules, so whatever state they hold (masks, adapters) is
// registered under the layer and travels with checkpoints.
class LinearTransformImpl : public torch::nn::Module {
 public:
  virtual std::string kind() const = 0;
  virtual nlohmann::json describe() const = 0;
  virtual torch::Tensor transform_input(const torch::Tensor& input) { return input; }
  virtual torch::Tensor transform_weight(const torch::Tensor& weight) { return weight; }
  virtual torch::Tensor transform_bias(const torch::Tensor& bias) { return bias; }
  // `input` is the layer input after transform_input.
  virtual torch::Tensor transform_output(const torch::Tensor& input, const torch::Tensor& output) { return output; }
};

// y = x W^T + b with Hugging Face's parameter names (weight [out, in], bias).
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& input);

  // Appends a transform; it runs after those already attached.
  void attach(const std::shared_ptr<LinearTransformImpl>& transform);
  // Removes every transform of this kind and returns them.
  std::vector<std::shared_ptr<LinearTransformImpl>> detach(const std::string& kind);
  const std::vector<std::shared_ptr<LinearTransformImpl>>& transforms() const { return transforms_; }
  template <typename T>
  std::shared_ptr<T> find_transform() const {
    for (const auto& transform : transforms_) {
      if (auto typed = std::dynamic_pointer_cast<T>(transform)) return typed;
    }
    return nullptr;
  }
  // The weight and bias as the forward pass uses them (after transforms).
  torch::Tensor effective_weight();
  torch::Tensor effective_bias();

  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  torch::Tensor weight;
  torch::Tensor bias;

 private:
  std::vector<std::shared_ptr<LinearTransformImpl>> transforms_;
};
TORCH_MODULE(Linear);

// Every Linear in `root`, by its full parameter-path name ("bert.pooler.dense").
std::vector<std::pair<std::string, Linear>> find_linears(torch::nn::Module& root);

}  // namespace whittle::model
