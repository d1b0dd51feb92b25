#include "deploy/evaluate_deployed.h"

#include <ostream>

#include "util/error.h"

namespace whittle::deploy {

train::EvalResult evaluate_deployed(DeployedClassifier& classifier, const data::TokenizedDataset& dataset,
                                    const train::EvalOptions& options, std::ostream& log) {
  auto logits_of = [&](const data::Batch& batch) { return classifier.forward(batch.input_ids, batch.attention_mask); };
  return train::evaluate_batches(logits_of, classifier.config(), dataset, options, "run", log);
}

Agreement compare_logits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes()) throw Error("cannot compare logits of different shapes");
  Agreement agreement;
  agreement.examples = a.size(0);
  agreement.same_prediction = a.argmax(1).eq(b.argmax(1)).sum().item<int64_t>();
  agreement.identical_logits = a.eq(b).all(1).sum().item<int64_t>();
  agreement.max_logit_difference = a.numel() == 0 ? 0.0 : (a - b).abs().max().item<double>();
  return agreement;
}

nlohmann::json to_json(const Agreement& agreement) {
  return {{"examples", agreement.examples},
          {"same_prediction", agreement.same_prediction},
          {"agreement", agreement.rate()},
          {"identical_logits", agreement.identical_logits},
          {"max_logit_difference", agreement.max_logit_difference}};
}

}  // namespace whittle::deploy
