#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "deploy/compiled_model.h"
#include "deploy/deployed_linear.h"
#include "model/bert.h"

namespace whittle::deploy {

// A compiled classifier ready to run: BERT's forward pass in inference mode
// with each Linear a DeployedLinear. Everything else is the model's own code
// and float32: the embedding module, tiled attention, LayerNorm, GELU, the
// tanh pooler and the CLS-only last layer when the compiled model allows it.
class DeployedClassifier {
 public:
  explicit DeployedClassifier(const CompiledModel& model, KernelIsa isa = best_kernel_isa());

  // input_ids [B, L] int64, attention_mask [B, L] → logits [B, num_labels].
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);

  const model::BertConfig& config() const { return config_; }
  // Each Linear's name and how it computes (DeployedLinear::engine).
  std::vector<std::pair<std::string, std::string>> engines() const;

 private:
  struct LayerNormWeights {
    torch::Tensor weight, bias;
  };
  struct Layer {
    DeployedLinear query, key, value, attention_output, intermediate, output;
    LayerNormWeights attention_norm, output_norm;
    bool query_scaled = false;  // the query kernel applies 1/sqrt(head size) itself
  };

  double query_factor() const;  // 1/sqrt(head size), as the model scales its queries
  torch::Tensor layer_norm(const torch::Tensor& x, const LayerNormWeights& norm) const;
  torch::Tensor self_attention(Layer& layer, const torch::Tensor& queries, const torch::Tensor& hidden,
                               const model::AttentionMask& mask);
  torch::Tensor feed_forward(Layer& layer, const torch::Tensor& attended);
  torch::Tensor layer_forward(Layer& layer, const torch::Tensor& hidden, const model::AttentionMask& mask, bool cls_only);

  model::BertConfig config_;
  bool cls_only_last_layer_;
  model::BertEmbeddings embeddings_{nullptr};
  std::vector<Layer> layers_;
  std::optional<DeployedLinear> pooler_;
  std::optional<DeployedLinear> classifier_;
};

}  // namespace whittle::deploy
