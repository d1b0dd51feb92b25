#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "data/batching.h"
#include "data/tokenized.h"
#include "model/bert.h"

namespace whittle::train {

class DataParallel;

struct EvalOptions {
  int64_t batch_size = 32;
  int64_t length_multiple = 32;
  // Ranks that share the evaluation, each running every world-th batch; the
  // logits are summed, so every rank gets the whole result. None: one process.
  std::shared_ptr<DataParallel> data_parallel = nullptr;
};

struct EvalResult {
  double accuracy = 0.0;
  double loss = 0.0;  // mean cross-entropy
  int64_t examples = 0;
  double seconds = 0.0;
  double tokens_per_second = 0.0;
  torch::Tensor logits;  // [N, num_labels], in dataset order
};

// Logits [B, num_labels] of one batch, from whichever classifier is evaluated.
using BatchLogits = std::function<torch::Tensor(const data::Batch&)>;

// The evaluation loop every classifier shares (the LibTorch model, the
// compiled one): the whole set, longest examples first (batches of similar
// length waste little on padding), padded to multiples of length_multiple
// but never past the model's positions; `label` names the progress line.
EvalResult evaluate_batches(const BatchLogits& logits_of, const model::BertConfig& config,
                            const data::TokenizedDataset& dataset, const EvalOptions& options,
                            const std::string& label, std::ostream& log);

// Runs the model in inference mode over the whole set with evaluate_batches.
EvalResult evaluate(model::BertForSequenceClassification& model, const data::TokenizedDataset& dataset,
                    const EvalOptions& options, std::ostream& log);

}  // namespace whittle::train
