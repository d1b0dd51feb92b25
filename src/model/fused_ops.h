#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace whittle::model {

// Dropout as one parallel pass. The keep/drop decision for element i is a
// hash of (seed, i), so the backward pass recomputes the mask instead of
// storing it: no mask tensor, no generator state, and the same seed always
// gives the same mask. torch::nn::Dropout on CPU is several times slower.
torch::Tensor fast_dropout(const torch::Tensor& input, double probability, uint64_t seed);

// True when element `index` survives dropout with the given seed; exposed so
// that tests can check the mask statistics and the backward pass.
bool dropout_keeps(uint64_t seed, int64_t index, double probability);

// A deterministic stream of dropout seeds, owned by whoever runs the model.
class SeedSequence {
 public:
  explicit SeedSequence(uint64_t seed) : state_(seed) {}
  uint64_t next();

 private:
  uint64_t state_;
};

}  // namespace whittle::model
