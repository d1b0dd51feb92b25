#pragma once
#include <cstdint>
#include <iosfwd>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/tokenized.h"
#include "deploy/deployed_classifier.h"
#include "train/evaluate.h"

namespace whittle::deploy {

// train::evaluate for a deployed classifier: the same batches (longest
// first, padded to multiples of length_multiple) in the same order, so that
// batch-dependent activation pruning sees the inputs the simulated model saw.
train::EvalResult evaluate_deployed(DeployedClassifier& classifier, const data::TokenizedDataset& dataset,
                                    const train::EvalOptions& options, std::ostream& log);

// How closely two sets of logits [N, labels] agree.
struct Agreement {
  int64_t examples = 0;
  int64_t same_prediction = 0;
  int64_t identical_logits = 0;  // bit for bit
  double max_logit_difference = 0.0;
  double rate() const { return examples == 0 ? 0.0 : static_cast<double>(same_prediction) / static_cast<double>(examples); }
};

Agreement compare_logits(const torch::Tensor& a, const torch::Tensor& b);
nlohmann::json to_json(const Agreement& agreement);

}  // namespace whittle::deploy
