#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "train/trainer.h"

namespace whittle::cli {

// Training flags shared by the commands that fine-tune. Unset flags take
// the defaults of the command's recipe.
struct TrainFlags {
  std::optional<int64_t> epochs, batch_size;
  std::optional<double> learning_rate, weight_decay, warmup_ratio, max_grad_norm;
  bool freeze_embeddings = false;

  // `prefix` distinguishes flag families ("" → --epochs, "qat-" → --qat-epochs).
  void add_to(CLI::App& command, const train::TrainOptions& defaults, const std::string& prefix = "");
  train::TrainOptions resolve(train::TrainOptions defaults, uint64_t seed) const;
};

// The recipes of src/train/trainer.h, under the names the commands use.
train::TrainOptions mase_finetune_defaults();
train::TrainOptions scratch_training_defaults();

}  // namespace whittle::cli
