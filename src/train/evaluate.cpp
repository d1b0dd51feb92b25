#include "train/evaluate.h"

#include <ostream>

#include "data/batching.h"
#include "train/data_parallel.h"
#include "util/error.h"
#include "util/progress.h"

namespace whittle::train {

EvalResult evaluate_batches(const BatchLogits& logits_of, const model::BertConfig& config,
                            const data::TokenizedDataset& dataset, const EvalOptions& options,
                            const std::string& label, std::ostream& log) {
  if (options.batch_size < 1) throw Error("invalid evaluation batch size " + std::to_string(options.batch_size));
  if (dataset.size() == 0) throw Error("the evaluation set is empty");
  data::BatchOptions batching;
  batching.batch_size = options.batch_size;
  batching.length_multiple = options.length_multiple;
  auto plan = data::plan_batches(dataset, batching, 0);

  DataParallel* ranks = options.data_parallel.get();
  const std::size_t world = ranks ? static_cast<std::size_t>(ranks->world_size()) : 1;
  const std::size_t rank = ranks ? static_cast<std::size_t>(ranks->rank()) : 0;
  // Rows that other ranks fill stay zero here, so the sum over ranks is the whole.
  torch::Tensor logits = ranks ? torch::zeros({dataset.size(), config.num_labels})
                               : torch::empty({dataset.size(), config.num_labels});
  const auto pad_id = static_cast<int32_t>(config.pad_token_id);
  Progress progress(label, static_cast<int64_t>((plan.size() + world - 1 - rank) / world), log);
  for (std::size_t b = rank; b < plan.size(); b += world) {
    const auto& indices = plan[b];
    data::Batch batch = data::make_batch(dataset, indices, pad_id, options.length_multiple, config.max_position_embeddings);
    logits.index_copy_(0, torch::tensor(indices, torch::kInt64), logits_of(batch));
    progress.advance(1, batch.real_tokens);
  }
  if (ranks) ranks->sum({logits});
  torch::Tensor labels = torch::tensor(dataset.labels, torch::kInt64);
  EvalResult result;
  result.examples = dataset.size();
  result.loss = torch::cross_entropy_loss(logits, labels).item<double>();
  result.accuracy = logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
  result.seconds = progress.elapsed_seconds();
  result.tokens_per_second = progress.tokens_per_second();
  result.logits = logits;
  progress.finish("accuracy " + std::to_string(result.accuracy));
  return result;
}

EvalResult evaluate(model::BertForSequenceClassification& model, const data::TokenizedDataset& dataset,
                    const EvalOptions& options, std::ostream& log) {
  bool was_training = model->is_training();
  model->eval();
  EvalResult result;
  {
    c10::InferenceMode inference;
    auto logits_of = [&](const data::Batch& batch) { return model->forward(batch.input_ids, batch.attention_mask); };
    result = evaluate_batches(logits_of, model->config(), dataset, options, "eval", log);
  }
  if (was_training) model->train();
  return result;
}

}  // namespace whittle::train
