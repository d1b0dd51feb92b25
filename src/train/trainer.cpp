#include "train/trainer.h"

#include <optional>
#include <ostream>
#include <sstream>

#include "data/batching.h"
#include "train/data_parallel.h"
#include "train/gradient_buckets.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "util/error.h"
#include "util/progress.h"

namespace whittle::train {
namespace {

// Keeps the embeddings out of training for as long as it lives, and gives
// them back the gradient flags they had.
class FrozenEmbeddings {
 public:
  FrozenEmbeddings(model::BertForSequenceClassification& model, bool freeze) {
    if (!freeze) return;
    for (auto& parameter : model->bert->embeddings->parameters()) {
      frozen_.emplace_back(parameter, parameter.requires_grad());
      parameter.set_requires_grad(false);
    }
  }
  ~FrozenEmbeddings() {
    for (auto& [parameter, requires_grad] : frozen_) parameter.set_requires_grad(requires_grad);
  }
  FrozenEmbeddings(const FrozenEmbeddings&) = delete;
  FrozenEmbeddings& operator=(const FrozenEmbeddings&) = delete;

 private:
  std::vector<std::pair<torch::Tensor, bool>> frozen_;
};

std::vector<torch::Tensor> trainable_parameters(torch::nn::Module& model) {
  std::vector<torch::Tensor> parameters;
  for (auto& parameter : model.parameters()) {
    if (parameter.requires_grad()) parameters.push_back(parameter);
  }
  return parameters;
}

// The gradient sums of one data-parallel step: the dense parameters in
// buckets summed while backward runs, the word embedding after it, over the
// rows of the batch's tokens only (its gradient is zero elsewhere).
class StepSums {
 public:
  StepSums(DataParallel& ranks, const std::vector<torch::Tensor>& parameters, torch::Tensor word_embedding)
      : ranks_(ranks),
        word_embedding_(word_embedding.requires_grad() ? word_embedding : torch::Tensor()),
        buckets_(ranks, dense_parameters(parameters, word_embedding)) {}

  // Before backward; `totals` (the step's loss and tokens) is summed too.
  void start(torch::Tensor& totals) {
    wait_for_totals_ = ranks_.start_sum(totals);
    buckets_.start_step();
  }

  // After backward.
  void finish(const torch::Tensor& input_ids) {
    buckets_.finish_step();
    wait_for_totals_();
    if (!word_embedding_.defined()) return;
    if (!word_embedding_.grad().defined()) word_embedding_.mutable_grad() = torch::zeros_like(word_embedding_);
    ranks_.sum_rows(word_embedding_.mutable_grad(), ranks_.union_of(input_ids));
  }

 private:
  static std::vector<torch::Tensor> dense_parameters(const std::vector<torch::Tensor>& parameters,
                                                     const torch::Tensor& word_embedding) {
    std::vector<torch::Tensor> dense;
    for (const auto& parameter : parameters) {
      if (!parameter.is_same(word_embedding)) dense.push_back(parameter);
    }
    return dense;
  }

  DataParallel& ranks_;
  torch::Tensor word_embedding_;
  GradientBuckets buckets_;
  std::function<void()> wait_for_totals_;
};

}  // namespace

TrainOptions hugging_face_trainer_defaults() {
  TrainOptions options;
  options.epochs = 1;
  options.batch_size = 8;
  options.learning_rate = 5e-5;
  return options;
}

TrainOptions from_scratch_recipe() {
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 16;
  options.learning_rate = 5e-4;
  options.weight_decay = 0.01;
  options.warmup_ratio = 0.06;
  return options;
}

void TrainOptions::validate() const {
  auto fail = [](const std::string& message) { throw Error("invalid training option: " + message); };
  if (epochs < 1) fail("epochs must be at least 1, got " + std::to_string(epochs));
  validate_optimizer_settings({batch_size, learning_rate, weight_decay, warmup_ratio, max_grad_norm}, fail);
  if (length_multiple < 1) fail("length multiple must be at least 1, got " + std::to_string(length_multiple));
}

std::vector<EpochReport> train_classifier(model::BertForSequenceClassification& model,
                                          const data::TokenizedDataset& train_set, const TrainOptions& options,
                                          const EpochCallback& after_epoch, std::ostream& log) {
  options.validate();
  if (train_set.size() == 0) throw Error("the training set is empty");
  data::BatchOptions batching;
  batching.batch_size = options.batch_size;
  batching.shuffle = true;
  batching.seed = options.seed;
  batching.length_multiple = options.length_multiple;

  FrozenEmbeddings frozen(model, options.freeze_embeddings);
  DataParallel* ranks = options.data_parallel.get();
  if (ranks) ranks->broadcast(model->parameters());  // every rank starts from rank 0's weights
  auto optimizer = make_adamw(*model, options.learning_rate, options.weight_decay);
  std::vector<torch::Tensor> parameters = trainable_parameters(*model);
  std::optional<StepSums> sums;
  if (ranks) sums.emplace(*ranks, parameters, model->bert->embeddings->word_embeddings->weight);
  int64_t steps_per_epoch = (train_set.size() + options.batch_size - 1) / options.batch_size;
  int64_t total_steps = steps_per_epoch * options.epochs;
  LinearSchedule schedule(options.learning_rate,
                          static_cast<int64_t>(options.warmup_ratio * static_cast<double>(total_steps)), total_steps);
  int32_t pad_id = static_cast<int32_t>(model->config().pad_token_id);

  std::vector<EpochReport> reports;
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    model->train();
    auto plan = data::plan_batches(train_set, batching, epoch);
    Progress progress("train epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs),
                      static_cast<int64_t>(plan.size()), log);
    double loss_sum = 0.0;
    int64_t batches_done = 0;
    std::vector<double> step_losses;
    step_losses.reserve(plan.size());
    for (const auto& indices : plan) {
      set_learning_rate(optimizer, schedule.rate(step));
      for (auto& parameter : parameters) parameter.mutable_grad() = torch::Tensor();  // no zero-fill pass
      // Each rank trains on its slice; scaling its mean loss by its share of
      // the global batch makes the summed gradient that of the global mean.
      const std::vector<int64_t> slice = ranks ? rank_slice(indices, ranks->rank(), ranks->world_size()) : indices;
      torch::Tensor input_ids = torch::empty({0}, torch::kInt64);
      std::optional<data::Batch> batch;
      torch::Tensor loss = torch::zeros({});
      if (!slice.empty()) {
        batch = data::make_batch(train_set, slice, pad_id, options.length_multiple,
                                 model->config().max_position_embeddings);
        loss = torch::cross_entropy_loss(model->forward(batch->input_ids, batch->attention_mask), batch->labels);
        const double share = static_cast<double>(slice.size()) / static_cast<double>(indices.size());
        if (share != 1.0) loss = loss * share;
        input_ids = batch->input_ids;
      }
      // The step's loss and tokens, summed over the ranks with the gradients
      // (float32 counts tokens exactly far beyond a batch's).
      torch::Tensor step_totals = torch::stack(
          {loss.detach().to(torch::kFloat32), torch::tensor(static_cast<float>(batch ? batch->real_tokens : 0))});
      if (sums) sums->start(step_totals);
      if (batch) loss.backward();
      if (sums) sums->finish(input_ids);
      if (options.max_grad_norm > 0.0) torch::nn::utils::clip_grad_norm_(parameters, options.max_grad_norm);
      optimizer.step();
      ++step;
      const double value = step_totals[0].item<double>();
      const auto real_tokens = static_cast<int64_t>(step_totals[1].item<double>());
      step_losses.push_back(value);
      loss_sum += value;
      ++batches_done;
      // One batch of 8 is noisy; the running mean is what the epoch reports.
      std::ostringstream detail;
      detail.precision(4);
      detail << "loss " << value << " (mean " << loss_sum / static_cast<double>(batches_done) << ")";
      progress.advance(1, real_tokens, detail.str());
    }
    EpochReport report{epoch,
                       loss_sum / static_cast<double>(plan.size()),
                       progress.elapsed_seconds(),
                       progress.tokens_per_second(),
                       std::move(step_losses),
                       ranks ? ranks->take_communication_seconds() : 0.0};
    std::ostringstream detail;
    detail.precision(4);
    detail << "mean loss " << report.mean_loss;
    progress.finish(detail.str());
    reports.push_back(report);
    if (after_epoch) after_epoch(report);
  }
  return reports;
}

}  // namespace whittle::train
