#pragma once
#include <torch/torch.h>

namespace whittle::train {

// AdamW over the module's trainable parameters, as Hugging Face sets it up:
// decoupled weight decay on weights only (never on biases or LayerNorm),
// betas (0.9, 0.999), eps 1e-8. Throws whittle::Error when nothing trains.
torch::optim::AdamW make_adamw(torch::nn::Module& module, double learning_rate, double weight_decay);

// Sets the rate of every parameter group (the schedule drives it per step).
void set_learning_rate(torch::optim::Optimizer& optimizer, double rate);

}  // namespace whittle::train
