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

// The key and value projections of every position of a layer's input.
struct KeysValues {
  torch::Tensor keys, values;  // [B, L, H]
};

class BertSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit BertSelfAttentionImpl(const BertConfig& config);
  // `queries` are the positions that attend ([B, Q, H], Q <= L); keys and
  // values come from all of `hidden`.
  torch::Tensor forward(const torch::Tensor& queries, const torch::Tensor& hidden, const AttentionMask& mask,
                        SeedSequence* dropout_seeds);
  // The same in two steps, for callers that attend twice to one input.
  KeysValues project_keys_values(const torch::Tensor& hidden);
  torch::Tensor attend(const torch::Tensor& queries, const KeysValues& keys_values, const AttentionMask& mask,
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
  // `queries` must be the leading positions of the input that gave `keys_values`.
  torch::Tensor attend(const torch::Tensor& queries, const KeysValues& keys_values, const AttentionMask& mask,
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
  // The layer as the last of a classifier, which reads only its [CLS] row.
  // Without cls_only every position: [B, L, H] out. With it the [CLS] row,
  // [B, 1, H] (its keys and values still come from every position), for
  // about half the work of a 2-layer model, and always as the full
  // computation gives it: when a Linear that would see only that row has a
  // transform deriving a statistic from its whole input (activation
  // pruning's quantile), the layer calibrates (forward_cls_calibrated);
  // otherwise rows are independent and the [CLS] row alone is exact (random
  // activation masks are positional: LinearTransformImpl::set_whole_rows).
  // The layer decides on every call, so no transform can get it wrong.
  // (Not an overload of forward: torch's module holder needs one forward.)
  torch::Tensor forward_as_last_layer(const torch::Tensor& hidden, const AttentionMask& mask,
                                      SeedSequence* dropout_seeds, bool cls_only);
  // The [CLS] row as the full computation gives it, although Linear
  // transforms with input statistics see only that row in the pass with
  // gradients. Without gradients (evaluation) the layer runs over every
  // position and the [CLS] row is the full computation's, bit for bit. With
  // gradients and no dropout, the recorded statistics are the full
  // computation's bit for bit, and the [CLS] row differs only as the plain
  // shortcut's does: a product over one row may round the last bit
  // differently from one over all rows (which could flip the mask of a value
  // within that rounding of a threshold; tests/passes/prune_shortcut_test.cpp
  // checks the masks). In training the calibration pass draws the same
  // dropout seeds as the [CLS] pass (from a copy of `dropout_seeds`), but a
  // seed's mask is indexed by position in the tensor it drops, so the [CLS]
  // pass's dropout of the [CLS] row differs from the calibration's: the
  // statistics come from a realisation of dropout distributed as the full
  // computation's, just as the plain shortcut's [CLS] row is. (In the full
  // computation the [CLS] row's own dropout also enters the statistics, with
  // a weight of one row in L.)
  torch::Tensor forward_cls_calibrated(const torch::Tensor& hidden, const AttentionMask& mask,
                                       SeedSequence* dropout_seeds);
  // Whether a Linear that sees only the [CLS] row under the shortcut (query,
  // attention output, intermediate, output) has a transform with an input
  // statistic that needs every row. Keys and values always see every position.
  bool cls_row_needs_calibration() const;

  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertResidualOutput output{nullptr};

 private:
  std::vector<Linear> cls_row_linears() const;
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
  // With cls_only the last layer computes [CLS] alone ([B, 1, H] out; see
  // BertLayerImpl::forward_as_last_layer).
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
  // the last layer computes just that row, exactly as the full computation
  // would (BertLayerImpl::forward_as_last_layer). false: every position.
  void set_cls_only_last_layer(bool enabled) { cls_only_last_layer_ = enabled; }
  bool cls_only_last_layer() const { return cls_only_last_layer_; }
  // Whether the [CLS]-only last layer calibrates with the transforms
  // attached now (what it costs, for benchmarks and tests).
  bool last_layer_calibrates() const;

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
void initialize_bert_weights(torch::nn::Module& module, const BertConfig& config, at::Generator& generator);

}  // namespace whittle::model
