#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "train/trainer.h"

namespace whittle::cli {

// The optimizer flags of every training command, fine-tuning or
// pretraining. Unset flags keep the defaults of the command's recipe.
// `Options` is any options struct with the five fields (train::TrainOptions,
// train::PretrainOptions).
struct OptimizerFlags {
  std::optional<int64_t> batch_size;
  std::optional<double> learning_rate, weight_decay, warmup_ratio, max_grad_norm;

  // `prefix` distinguishes flag families ("" → --lr, "qat-" → --qat-lr).
  template <typename Options>
  void add_to(CLI::App& command, const Options& defaults, const std::string& prefix = "") {
    add_flags(command, {defaults.batch_size, defaults.learning_rate, defaults.weight_decay, defaults.warmup_ratio,
                        defaults.max_grad_norm},
              prefix);
  }
  template <typename Options>
  void apply_to(Options& options) const {
    options.batch_size = batch_size.value_or(options.batch_size);
    options.learning_rate = learning_rate.value_or(options.learning_rate);
    options.weight_decay = weight_decay.value_or(options.weight_decay);
    options.warmup_ratio = warmup_ratio.value_or(options.warmup_ratio);
    options.max_grad_norm = max_grad_norm.value_or(options.max_grad_norm);
  }

 private:
  struct Shown {
    int64_t batch_size;
    double learning_rate, weight_decay, warmup_ratio, max_grad_norm;
  };
  void add_flags(CLI::App& command, const Shown& defaults, const std::string& prefix);
};

// Fine-tuning flags: the optimizer's, epochs, and frozen embeddings.
struct TrainFlags {
  std::optional<int64_t> epochs;
  OptimizerFlags optimizer;
  bool freeze_embeddings = false;

  void add_to(CLI::App& command, const train::TrainOptions& defaults, const std::string& prefix = "");
  train::TrainOptions resolve(train::TrainOptions defaults, uint64_t seed) const;
};

// The recipes of src/train/trainer.h, under the names the commands use.
train::TrainOptions mase_finetune_defaults();
train::TrainOptions scratch_training_defaults();

}  // namespace whittle::cli
