#pragma once
#include <cstdint>
#include <iosfwd>

#include "data/tokenized.h"
#include "model/bert.h"

namespace whittle::train {

struct EvalOptions {
  int64_t batch_size = 32;
  int64_t length_multiple = 32;
};

struct EvalResult {
  double accuracy = 0.0;
  double loss = 0.0;  // mean cross-entropy
  int64_t examples = 0;
  double seconds = 0.0;
  double tokens_per_second = 0.0;
  torch::Tensor logits;  // [N, num_labels], in dataset order
};

// Runs the model in inference mode over the whole set, longest examples
// first (batches of similar length waste little on padding).
EvalResult evaluate(model::BertForSequenceClassification& model, const data::TokenizedDataset& dataset,
                    const EvalOptions& options, std::ostream& log);

}  // namespace whittle::train
