#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/bert.h"

namespace whittle::experiments {

// The storage one Linear needs once its passes are applied: every weight the
// prune mask keeps (all of them without weight pruning) at the weight width
// of its quantization, every bias at the bias width; 32 bits where the layer
// is not quantized. Indices of a sparse format are not counted.
struct LinearSize {
  std::string name;          // module path, "bert.encoder.layer.0.attention.self.query"
  int64_t weights = 0;       // elements of the weight
  int64_t kept_weights = 0;  // kept by the weight mask (= weights without one)
  int64_t nonzero_weights = 0;  // exact nonzeros of the effective weight (masks and quantization applied)
  int64_t weight_width = 32;
  int64_t biases = 0;
  int64_t nonzero_biases = 0;  // exact nonzeros of the effective bias
  int64_t bias_width = 32;

  int64_t weight_bits() const { return kept_weights * weight_width; }
  int64_t bias_bits() const { return biases * bias_width; }
};

// The size of a whole classifier: its Linears as above, and every other
// parameter (embeddings, LayerNorms, and whatever parameters transforms
// hold) at 32 bits. Buffers such as prune masks are not counted: they are how
// the sparsity is computed, not what a deployed model stores.
struct ModelSize {
  std::vector<LinearSize> linears;  // in module order
  int64_t linear_weight_bits = 0;
  int64_t linear_bias_bits = 0;
  int64_t other_bits = 0;

  int64_t linear_weights = 0;
  int64_t linear_kept_weights = 0;
  int64_t linear_nonzero_weights = 0;
  int64_t linear_biases = 0;
  int64_t linear_nonzero_biases = 0;
  int64_t other_parameters = 0;
  int64_t other_nonzero_parameters = 0;

  int64_t linear_bits() const { return linear_weight_bits + linear_bias_bits; }
  int64_t total_bits() const { return linear_bits() + other_bits; }
  int64_t parameters() const { return linear_weights + linear_biases + other_parameters; }
};

// Measures `root` (a classifier or any module holding whittle Linears) with
// the quantize and prune transforms attached to it now. Throws whittle::Error
// when a weight mask does not have its weight's shape.
ModelSize measure_model_size(torch::nn::Module& root);
ModelSize measure_model_size(model::BertForSequenceClassification& model);

// {"total_bits", "linear_bits", "linear_weight_bits", "linear_bias_bits",
//  "other_bits", counts..., "linears": {"<name>": {...}}}
nlohmann::json to_json(const ModelSize& size);
nlohmann::json to_json(const LinearSize& size);

}  // namespace whittle::experiments
