#pragma once
#include <cstdint>
#include <iosfwd>
#include <vector>

#include "model/bert_mlm.h"
#include "train/mlm_masking.h"

namespace whittle::train {

struct MlmEvalOptions {
  int64_t batch_size = 64;
  // Masks depend on this seed and on each sequence's index only, so that
  // every evaluation of a held-out set predicts the same tokens.
  uint64_t mask_seed = 0x5eed;
  MaskingOptions masking;
};

struct MlmEvalResult {
  double accuracy = 0.0;    // share of predicted tokens whose argmax is the original token
  double loss = 0.0;        // mean cross-entropy over predicted tokens
  double perplexity = 0.0;  // exp(loss)
  int64_t predicted = 0;
  int64_t sequences = 0;
  double seconds = 0.0;
  double tokens_per_second = 0.0;
};

// Runs the model in inference mode over every sequence. Throws
// whittle::Error when there is nothing to evaluate.
MlmEvalResult evaluate_masked_lm(model::BertForMaskedLM& model, const std::vector<std::vector<int32_t>>& sequences,
                                 const MaskingTokens& tokens, const MlmEvalOptions& options, std::ostream& log);

}  // namespace whittle::train
