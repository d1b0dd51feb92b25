#pragma once
#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/bert.h"
#include "model/checkpoint.h"

namespace whittle::model {

// Label of a position that is not predicted (Hugging Face's ignore index).
inline constexpr int64_t kNotPredicted = -100;

// Embeddings and encoder without a pooler: "bert." of Hugging Face's
// BertForMaskedLM, whose BertModel is built with add_pooling_layer=False.
class BertEncoderStackImpl : public torch::nn::Module {
 public:
  explicit BertEncoderStackImpl(const BertConfig& config);
  // The last hidden states [B, L, H].
  torch::Tensor encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                       SeedSequence* dropout_seeds);

  BertEmbeddings embeddings{nullptr};
  BertEncoder encoder{nullptr};
};
TORCH_MODULE(BertEncoderStack);

// dense → GELU → LayerNorm: "cls.predictions.transform".
class BertPredictionHeadTransformImpl : public torch::nn::Module {
 public:
  explicit BertPredictionHeadTransformImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden);

  Linear dense{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
};
TORCH_MODULE(BertPredictionHeadTransform);

// "cls.predictions": the transform and an output bias per token. The decoder
// weight is not a parameter of its own: it is the word embedding matrix,
// passed in, as in Hugging Face's tied BertLMPredictionHead.
class BertLMPredictionHeadImpl : public torch::nn::Module {
 public:
  explicit BertLMPredictionHeadImpl(const BertConfig& config);
  // hidden [M, H] → logits [M, V].
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& decoder_weight);

  BertPredictionHeadTransform transform{nullptr};
  torch::Tensor bias;
};
TORCH_MODULE(BertLMPredictionHead);

// "cls": holds only "predictions", as BertOnlyMLMHead does.
class BertOnlyMLMHeadImpl : public torch::nn::Module {
 public:
  explicit BertOnlyMLMHeadImpl(const BertConfig& config);

  BertLMPredictionHead predictions{nullptr};
};
TORCH_MODULE(BertOnlyMLMHead);

struct MaskedLmOutput {
  torch::Tensor loss;     // mean cross-entropy over the predicted positions (scalar)
  torch::Tensor logits;   // [M, V], one row per predicted position, in row-major order
  torch::Tensor targets;  // [M] the original tokens at those positions
};

// Hugging Face's BertForMaskedLM with the same parameter names. Logits are
// computed only where a label is given: with a 30522-token vocabulary the
// decoder costs as much as the encoder when applied to every position, and
// only ~15% of them are predicted.
class BertForMaskedLMImpl : public torch::nn::Module {
 public:
  explicit BertForMaskedLMImpl(const BertConfig& config);

  // labels [B, L]: the token to predict, or kNotPredicted. Dropout is driven
  // by `dropout_seeds` and active in training mode only.
  MaskedLmOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                         const torch::Tensor& labels, SeedSequence* dropout_seeds);
  // The same loss as forward(), for training: computed by
  // linear_cross_entropy, without the [M, V] logits in memory.
  torch::Tensor loss(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                     const torch::Tensor& labels, SeedSequence* dropout_seeds);
  // Logits [B*L selected, V] for the rows `flat_positions` of hidden [B, L, H].
  torch::Tensor logits_at(const torch::Tensor& hidden, const torch::Tensor& flat_positions);

  // Tied to the input embeddings: the same tensor, not a copy.
  torch::Tensor decoder_weight() const { return bert->embeddings->word_embeddings->weight; }
  const BertConfig& config() const { return config_; }

  BertEncoderStack bert{nullptr};
  BertOnlyMLMHead cls{nullptr};

 private:
  BertConfig config_;
};
TORCH_MODULE(BertForMaskedLM);

// mean over rows of cross_entropy(input · weightᵀ + bias, targets), with the
// logits computed a few rows at a time and the gradients of input, weight
// and bias formed in the same pass (softmax − one-hot needs nothing else).
// Autograd-aware. Against log_softmax + nll over materialised logits this
// saves a quarter of the decoder's time and the memory of three [M, V]
// tensors (about 1 GB at 2,400 predictions over 30,522 tokens).
torch::Tensor linear_cross_entropy(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::Tensor& targets);

// A model with BERT's random initialisation.
BertForMaskedLM new_masked_lm(const BertConfig& config, uint64_t seed);

// config.json that transformers loads as BertForMaskedLM.
nlohmann::json masked_lm_config_json(const BertConfig& config);

// The parameters as Hugging Face saves a BertForMaskedLM to safetensors: the
// tied cls.predictions.decoder.{weight,bias} are left out, transformers ties
// them again on load.
TensorMap masked_lm_tensors(const BertForMaskedLM& model);

// Loads a checkpoint with an MLM head (BertForMaskedLM, BertForPreTraining or
// whittle's pretraining output). Tensors for other heads (pooler, NSP) are
// ignored; a checkpoint without cls.predictions.* throws whittle::Error.
BertForMaskedLM load_masked_lm(const std::filesystem::path& dir);

// Copies `tensors` into the model; every parameter must be present.
void assign_masked_lm_tensors(BertForMaskedLM& model, const TensorMap& tensors, const std::string& origin);

// Writes config.json, model.safetensors, whittle.json (when not empty) and
// the tokenizer files of tokenizer_dir into `dir`, each file atomically and
// whittle.json last. Other files in `dir` are left alone (the pretraining
// state lives in a subdirectory).
void save_masked_lm(const std::filesystem::path& dir, const BertForMaskedLM& model, const nlohmann::json& whittle,
                    const std::filesystem::path& tokenizer_dir);

}  // namespace whittle::model
