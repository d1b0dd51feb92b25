#pragma once
// Hand-made batches for tests that run a model's forward pass directly.
#include <cstdint>

#include <torch/torch.h>

#include "model/bert.h"

namespace whittle::test_support {

struct ModelBatch {
  torch::Tensor ids, attention, labels;  // labels only where a test trains
};

// `rows` × `length` random ids in [low, high), every position real, drawn
// from torch's global generator seeded with `seed` (so a test sees the same
// batch on every run).
inline ModelBatch random_ids_batch(int64_t seed, int64_t rows = 4, int64_t length = 24, int64_t low = 1,
                                   int64_t high = 100) {
  torch::manual_seed(seed);
  return {torch::randint(low, high, {rows, length}, torch::kInt64), torch::ones({rows, length}, torch::kInt64), {}};
}

// Logits in evaluation mode (no dropout), without gradients.
inline torch::Tensor eval_mode_logits(model::BertForSequenceClassification& model, const ModelBatch& batch) {
  torch::NoGradGuard no_grad;
  model->eval();
  return model->forward(batch.ids, batch.attention);
}

}  // namespace whittle::test_support
