#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <torch/torch.h>

namespace whittle::train {

// AdamW over the module's trainable parameters, as Hugging Face sets it up:
// decoupled weight decay on weights only (never on biases or LayerNorm),
// betas (0.9, 0.999), eps 1e-8. Throws whittle::Error when nothing trains.
torch::optim::AdamW make_adamw(torch::nn::Module& module, double learning_rate, double weight_decay);

// What fine-tuning and pretraining both hand the optimizer and its schedule.
struct OptimizerSettings {
  int64_t batch_size = 0;
  double learning_rate = 0.0;
  double weight_decay = 0.0;
  double warmup_ratio = 0.0;
  double max_grad_norm = 0.0;
};

// Calls `fail` with a message for the first setting out of range, so that
// each caller can say which options were wrong.
void validate_optimizer_settings(const OptimizerSettings& settings,
                                 const std::function<void(const std::string&)>& fail);

// Sets the rate of every parameter group (the schedule drives it per step).
void set_learning_rate(torch::optim::Optimizer& optimizer, double rate);

}  // namespace whittle::train
