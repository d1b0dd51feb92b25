#pragma once
#include <cstdint>

#include <torch/torch.h>

#include "model/attention.h"
#include "model/bert_config.h"
#include "model/fused_ops.h"
#include "model/linear.h"

namespace whittle::model {

// Which keys each example may attend to. Right-padded batches (all of
// whittle's) carry key lengths and use tiled_attention; any other mask falls
// back to an additive bias of 0 / float lowest on the scores, as Hugging Face does.
struct AttentionMask {
  torch::Tensor key_lengths;  // [B] int64, or undefined
  torch::Tensor additive;     // [B, 1, 1, L] float, set when key_lengths is undefined

  static AttentionMask from(const torch::Tensor& attention_mask);
};

// Module and parameter names follow Hugging Face's BertForSequenceClassification
// exactly ("bert.encoder.layer.0.attention.self.query.weight"), so state
// dicts map one to one onto safetensors checkpoints.

class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit BertEmbeddingsImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids, SeedSequence* dropout_seeds);

  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(BertEmbeddings);

class BertSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit BertSelfAttentionImpl(const BertConfig& config);
  // `queries` are the positions that attend ([B, Q, H], Q <= L); keys and
  // values come from all of `hidden`.
  torch::Tensor forward(const torch::Tensor& queries, const torch::Tensor& hidden, const AttentionMask& mask,
                        SeedSequence* dropout_seeds);

  Linear query{nullptr}, key{nullptr}, value{nullptr};

 private:
  int64_t heads_;
  int64_t head_size_;
  double dropout_;
};
TORCH_MODULE(BertSelfAttention);

// dense → dropout → LayerNorm(· + residual): BertSelfOutput and BertOutput.
class BertResidualOutputImpl : public torch::nn::Module {
 public:
  BertResidualOutputImpl(int64_t in_features, const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& residual, SeedSequence* dropout_seeds);

  Linear dense{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(BertResidualOutput);

class BertAttentionImpl : public torch::nn::Module {
 public:
  explicit BertAttentionImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& queries, const torch::Tensor& hidden, const AttentionMask& mask,
                        SeedSequence* dropout_seeds);

  BertSelfAttention self{nullptr};
  BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

class BertIntermediateImpl : public torch::nn::Module {
 public:
  explicit BertIntermediateImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden);

  Linear dense{nullptr};
};
TORCH_MODULE(BertIntermediate);

class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& config);
  // With cls_only, only position 0 ([CLS]) is computed: [B, 1, H] out.
  torch::Tensor forward(const torch::Tensor& hidden, const AttentionMask& mask, SeedSequence* dropout_seeds,
                        bool cls_only = false);

  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertLayer);

class BertPoolerImpl : public torch::nn::Module {
 public:
  explicit BertPoolerImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden);

  Linear dense{nullptr};
};
TORCH_MODULE(BertPooler);

class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(const BertConfig& config);
  // With cls_only the last layer computes [CLS] alone ([B, 1, H] out).
  torch::Tensor forward(torch::Tensor hidden, const AttentionMask& mask, SeedSequence* dropout_seeds,
                        bool cls_only);

  std::vector<BertLayer> layers;  // registered as "layer.0", "layer.1", ...
};
TORCH_MODULE(BertEncoder);

// Embeddings, encoder and pooler: "bert." in the classifier.
class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(const BertConfig& config);
  // Returns the last hidden states [B, L, H], or [B, 1, H] with cls_only.
  torch::Tensor encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                       SeedSequence* dropout_seeds, bool cls_only = false);

  BertEmbeddings embeddings{nullptr};
  BertEncoder encoder{nullptr};
  BertPooler pooler{nullptr};
};
TORCH_MODULE(BertModel);

class BertForSequenceClassificationImpl : public torch::nn::Module {
 public:
  explicit BertForSequenceClassificationImpl(const BertConfig& config, uint64_t dropout_seed = 0);
  // Logits [B, num_labels]. Dropout is active in training mode only.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);

  const BertConfig& config() const { return config_; }
  void reseed_dropout(uint64_t seed) { dropout_seeds_ = SeedSequence(seed); }

  // The logits depend on the last layer's [CLS] output alone, so by default
  // the last layer computes just that row: the same logits for about half the
  // work of a 2-layer model. A transform whose result depends on the whole
  // input of a Linear (activation pruning by quantile) turns this off.
  void set_cls_only_last_layer(bool enabled) { cls_only_last_layer_ = enabled; }
  bool cls_only_last_layer() const { return cls_only_last_layer_; }

  BertModel bert{nullptr};
  Linear classifier{nullptr};

 private:
  BertConfig config_;
  SeedSequence dropout_seeds_;
  bool cls_only_last_layer_ = true;
};
TORCH_MODULE(BertForSequenceClassification);

// BERT's initialisation: normal(0, initializer_range) for Linear and
// Embedding weights, zero biases, LayerNorm 1/0, the padding row zeroed.
void initialize_bert_weights(torch::nn::Module& module, const BertConfig& config, uint64_t seed);

}  // namespace whittle::model
