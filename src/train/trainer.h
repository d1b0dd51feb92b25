#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <vector>

#include "data/tokenized.h"
#include "model/bert.h"

namespace whittle::train {

class DataParallel;

struct TrainOptions {
  int64_t epochs = 1;
  int64_t batch_size = 8;
  double learning_rate = 5e-5;
  double weight_decay = 0.0;  // decoupled (AdamW); never applied to biases and LayerNorm
  double warmup_ratio = 0.0;  // fraction of all steps spent warming up
  double max_grad_norm = 1.0;  // 0 disables clipping
  uint64_t seed = 0;
  int64_t length_multiple = 32;
  // The embeddings (word, position, token type and their LayerNorm) get no
  // gradient, as in Mase's tutorials from the LoRA tutorial on.
  bool freeze_embeddings = false;
  // Ranks that share every global batch (see DataParallel); none: one
  // process. Not part of what a run measures: the ranks change no result
  // beyond float rounding.
  std::shared_ptr<DataParallel> data_parallel = nullptr;

  // Throws whittle::Error naming the first invalid option.
  void validate() const;
};

struct EpochReport {
  int64_t epoch = 0;  // 1-based
  double mean_loss = 0.0;
  double seconds = 0.0;
  double tokens_per_second = 0.0;  // real (unpadded) tokens
  std::vector<double> step_losses;  // each step's loss on the global batch
  double communication_seconds = 0.0;  // spent summing over ranks (0 in one process)
};

// Hugging Face Trainer's defaults, which Mase's tutorials use for LoRA, QAT
// and fine-tuning after pruning: AdamW 5e-5, batch 8, no decay or warm-up,
// 1 epoch (tutorial 4 sets 5 epochs after pruning: configs/lab1.toml).
TrainOptions hugging_face_trainer_defaults();

// Training BERT-Tiny from a random initialisation needs a larger rate with
// warm-up and weight decay; this recipe matches a PyTorch reference that
// reached 0.871 on IMDb after 2 epochs.
TrainOptions from_scratch_recipe();

using EpochCallback = std::function<void(const EpochReport&)>;

// Fine-tunes every parameter that requires a gradient: AdamW, linear warm-up
// and decay, gradient clipping, length-bucketed batches. Calls after_epoch
// (which may evaluate or save) at the end of each epoch.
std::vector<EpochReport> train_classifier(model::BertForSequenceClassification& model,
                                          const data::TokenizedDataset& train_set, const TrainOptions& options,
                                          const EpochCallback& after_epoch, std::ostream& log);

}  // namespace whittle::train
