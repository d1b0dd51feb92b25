#include "train/evaluate.h"

#include <ostream>

#include "data/batching.h"
#include "util/error.h"
#include "util/progress.h"

namespace whittle::train {

EvalResult evaluate(model::BertForSequenceClassification& model, const data::TokenizedDataset& dataset,
                    const EvalOptions& options, std::ostream& log) {
  if (options.batch_size < 1) throw Error("invalid evaluation batch size " + std::to_string(options.batch_size));
  if (dataset.size() == 0) throw Error("the evaluation set is empty");
  data::BatchOptions batching;
  batching.batch_size = options.batch_size;
  batching.length_multiple = options.length_multiple;
  auto plan = data::plan_batches(dataset, batching, 0);

  bool was_training = model->is_training();
  model->eval();
  c10::InferenceMode inference;
  torch::Tensor logits = torch::empty({dataset.size(), model->config().num_labels});
  int32_t pad_id = static_cast<int32_t>(model->config().pad_token_id);
  Progress progress("eval", static_cast<int64_t>(plan.size()), log);
  for (const auto& indices : plan) {
    data::Batch batch = data::make_batch(dataset, indices, pad_id, options.length_multiple,
                                           model->config().max_position_embeddings);
    torch::Tensor batch_logits = model->forward(batch.input_ids, batch.attention_mask);
    logits.index_copy_(0, torch::tensor(indices, torch::kInt64), batch_logits);
    progress.advance(1, batch.real_tokens);
  }
  torch::Tensor labels = torch::tensor(dataset.labels, torch::kInt64);
  EvalResult result;
  result.examples = dataset.size();
  result.loss = torch::cross_entropy_loss(logits, labels).item<double>();
  result.accuracy = logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
  result.seconds = progress.elapsed_seconds();
  result.tokens_per_second = progress.tokens_per_second();
  result.logits = logits;
  progress.finish("accuracy " + std::to_string(result.accuracy));
  if (was_training) model->train();
  return result;
}

}  // namespace whittle::train
