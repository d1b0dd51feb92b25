#include "cli/train_flags.h"

#include <sstream>

namespace whittle::cli {

namespace {

template <typename T>
std::string show(const T& value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

}  // namespace

void OptimizerFlags::add_flags(CLI::App& command, const Shown& defaults, const std::string& prefix) {
  command.add_option("--" + prefix + "batch-size", batch_size, "batch size (default " + show(defaults.batch_size) + ")");
  command.add_option("--" + prefix + "lr", learning_rate, "peak learning rate (default " + show(defaults.learning_rate) + ")");
  command.add_option("--" + prefix + "weight-decay", weight_decay,
                     "AdamW weight decay (default " + show(defaults.weight_decay) + ")");
  command.add_option("--" + prefix + "warmup-ratio", warmup_ratio,
                     "fraction of steps for linear warm-up (default " + show(defaults.warmup_ratio) + ")");
  command.add_option("--" + prefix + "max-grad-norm", max_grad_norm,
                     "gradient clipping norm, 0 disables (default " + show(defaults.max_grad_norm) + ")");
}

void TrainFlags::add_to(CLI::App& command, const train::TrainOptions& defaults, const std::string& prefix) {
  command.add_option("--" + prefix + "epochs", epochs, "epochs (default " + show(defaults.epochs) + ")");
  optimizer.add_to(command, defaults, prefix);
  command.add_flag("--" + prefix + "freeze-embeddings", freeze_embeddings,
                   "train without the embeddings, as Mase's tutorials do after LoRA");
}

train::TrainOptions TrainFlags::resolve(train::TrainOptions defaults, uint64_t seed) const {
  defaults.epochs = epochs.value_or(defaults.epochs);
  optimizer.apply_to(defaults);
  defaults.freeze_embeddings = freeze_embeddings || defaults.freeze_embeddings;
  defaults.seed = seed;
  defaults.validate();
  return defaults;
}

train::TrainOptions mase_finetune_defaults() { return train::hugging_face_trainer_defaults(); }

train::TrainOptions scratch_training_defaults() { return train::from_scratch_recipe(); }

}  // namespace whittle::cli
