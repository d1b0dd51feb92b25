#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenized.h"
#include "experiments/mixed/frac_choice.h"
#include "model/bert.h"

namespace whittle::experiments {

// A ranking of the tensors' sensitivity from one backward pass per example,
// with no Hessian: the quantization error weighted by the squared gradient
// (the diagonal of the empirical Fisher information),
//   score(t, w) = mean over examples of  sum_i (dL/dt_i)^2 · (q_w(t_i) - t_i)^2,
// with q_w the format of the frac table at width w. For a weight or bias the
// error is that of the tensor itself; for an input, that of the values the
// example feeds the layer. Half the score estimates the loss increase.
struct FisherScores {
  std::map<std::string, std::map<int64_t, double>> score;  // target key → width → score
  int64_t examples = 0;
  double seconds = 0.0;
};

// Batches of 8 reviews with the loss summed over them (see fisher.cpp), the
// model in evaluation mode (no dropout), its parameters left as they were.
FisherScores fisher_scores(model::BertForSequenceClassification& model, const data::TokenizedDataset& examples,
                           const std::vector<int64_t>& widths, const FracTable& fracs);

nlohmann::json to_json(const FisherScores& scores);
FisherScores fisher_scores_from_json(const nlohmann::json& json);

}  // namespace whittle::experiments
