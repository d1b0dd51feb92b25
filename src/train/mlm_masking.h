#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include <torch/torch.h>

#include "text/tokenizer.h"

namespace whittle::train {

// BERT's masking recipe.
struct MaskingOptions {
  double predict_fraction = 0.15;  // of the maskable tokens of a sequence
  double mask_fraction = 0.8;      // of the predicted tokens: shown as [MASK]
  double random_fraction = 0.1;    // of the predicted tokens: shown as a random token; the rest unchanged

  // Throws whittle::Error naming the first invalid option.
  void validate() const;
};

struct MaskingTokens {
  int32_t mask_id = 0;
  int32_t pad_id = 0;
  int64_t vocab_size = 0;            // random replacements are drawn from [0, vocab_size)
  std::vector<int32_t> special_ids;  // never predicted nor replaced
};

// [CLS], [SEP], [PAD], [MASK] and [UNK] are special, as in Hugging Face's
// DataCollatorForLanguageModeling.
MaskingTokens masking_tokens(const text::Tokenizer& tokenizer);

struct MaskedSequence {
  std::vector<int32_t> input_ids;  // what the model sees
  std::vector<int64_t> labels;     // the original token where predicted, else model::kNotPredicted
  int64_t predicted = 0;
};

// Predicts round(predict_fraction * n) of the n maskable tokens (at least
// one when n > 0), chosen uniformly without replacement as BERT's
// create_pretraining_data does; each of them independently becomes [MASK],
// a random token or stays as it is. The same seed gives the same result.
MaskedSequence mask_sequence(std::span<const int32_t> ids, const MaskingTokens& tokens,
                             const MaskingOptions& options, uint64_t seed);

// Unrelated seeds for neighbouring (seed, salt) pairs (splitmix64 mixing).
uint64_t derive_seed(uint64_t seed, uint64_t salt);

struct MlmBatch {
  torch::Tensor input_ids;       // [B, L] int64, right-padded with pad_id
  torch::Tensor attention_mask;  // [B, L] int64
  torch::Tensor labels;          // [B, L] int64, model::kNotPredicted where nothing is predicted
  int64_t real_tokens = 0;
  int64_t predicted = 0;
};

// The sequences at `indices`, each masked with derive_seed(pass_seed, index):
// a sequence's mask depends on the pass (epoch, evaluation seed) and on which
// sequence it is, not on the batch it lands in.
MlmBatch make_mlm_batch(const std::vector<std::vector<int32_t>>& sequences, const std::vector<int64_t>& indices,
                        const MaskingTokens& tokens, const MaskingOptions& options, uint64_t pass_seed);

}  // namespace whittle::train
