#include "deploy/evaluate_deployed.h"

#include <ostream>

#include "data/batching.h"
#include "util/error.h"
#include "util/progress.h"

namespace whittle::deploy {

train::EvalResult evaluate_deployed(DeployedClassifier& classifier, const data::TokenizedDataset& dataset,
                                    const train::EvalOptions& options, std::ostream& log) {
  if (options.batch_size < 1) throw Error("invalid evaluation batch size " + std::to_string(options.batch_size));
  if (dataset.size() == 0) throw Error("the evaluation set is empty");
  data::BatchOptions batching;
  batching.batch_size = options.batch_size;
  batching.length_multiple = options.length_multiple;
  auto plan = data::plan_batches(dataset, batching, 0);

  const model::BertConfig& config = classifier.config();
  torch::Tensor logits = torch::empty({dataset.size(), config.num_labels});
  const auto pad_id = static_cast<int32_t>(config.pad_token_id);
  Progress progress("run", static_cast<int64_t>(plan.size()), log);
  for (const auto& indices : plan) {
    data::Batch batch = data::make_batch(dataset, indices, pad_id, options.length_multiple, config.max_position_embeddings);
    torch::Tensor batch_logits = classifier.forward(batch.input_ids, batch.attention_mask);
    logits.index_copy_(0, torch::tensor(indices, torch::kInt64), batch_logits);
    progress.advance(1, batch.real_tokens);
  }
  torch::Tensor labels = torch::tensor(dataset.labels, torch::kInt64);
  train::EvalResult result;
  result.examples = dataset.size();
  result.loss = torch::cross_entropy_loss(logits, labels).item<double>();
  result.accuracy = logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
  result.seconds = progress.elapsed_seconds();
  result.tokens_per_second = progress.tokens_per_second();
  result.logits = logits;
  progress.finish("accuracy " + std::to_string(result.accuracy));
  return result;
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
