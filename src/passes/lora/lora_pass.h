#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/bert.h"
#include "passes/lora/lora_config.h"

namespace whittle::passes {

struct LoraAdaptedLayer {
  std::string name;  // module path, "bert.encoder.layer.0.attention.self.query"
  int64_t in_features = 0;
  int64_t out_features = 0;
  int64_t adapter_parameters = 0;  // rank * (in + out)
};

// What Mase's report_trainable_parameters_analysis_pass prints, and where
// the trainable parameters sit.
struct LoraReport {
  std::vector<LoraAdaptedLayer> layers;          // in module order
  std::vector<std::string> trained_in_full;      // parameters trained besides the adapters
  int64_t trainable_parameters = 0;              // elements of parameters with requires_grad
  int64_t total_parameters = 0;                  // elements of all parameters, adapters included
  double trainable_fraction() const;
};

// {"trainable_parameters": n, "total_parameters": m, "trainable_percent": p,
//  "trained_in_full": [...], "layers": {"<name>": {"in": i, "out": o, "adapter_parameters": a}}}
nlohmann::json to_json(const LoraReport& report);

// Mase's insert_lora_adapter_transform_pass for whittle's Linears: attaches a
// LoRA transform to every Linear the config selects (default: all but the
// classifier) and freezes every parameter except the adapters and the
// classifier's weight and bias. `seed` draws the adapters' A matrices and
// seeds their dropout streams (one per layer, in module order).
//
// Throws whittle::Error, leaving the model as it was, when a target selects
// no Linear, when the model already has LoRA adapters, or when a selected
// Linear carries another transform (quantization, pruning): fusing would then
// not reproduce the trained model, so such a checkpoint must be exported to
// plain weights first.
LoraReport lora_pass(model::BertForSequenceClassification& model, const LoraConfig& config, uint64_t seed);

// Counts trainable and total parameters and lists the adapters now attached.
LoraReport measure_lora(model::BertForSequenceClassification& model);

// Mase's fuse_lora_weights_transform_pass: W += (alpha / rank) B A for every
// adapted Linear, then the adapters are detached and every parameter is
// trainable again. In eval mode the model computes the same logits as before
// (to rounding). Returns the names of the layers fused. Throws whittle::Error,
// changing nothing, when an adapted Linear also carries another transform.
std::vector<std::string> fuse_lora(model::BertForSequenceClassification& model);

// The Linears of `root` that carry LoRA adapters, by name.
std::vector<std::string> layers_with_lora(torch::nn::Module& root);

}  // namespace whittle::passes
