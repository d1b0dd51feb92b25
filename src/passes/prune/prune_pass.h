#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/bert.h"
#include "passes/prune/prune_config.h"

namespace whittle::passes {

struct PrunedLayer {
  std::string name;     // module path, "bert.encoder.layer.0.attention.self.query"
  int64_t weights = 0;  // elements of the weight
  int64_t zeros = 0;    // exact zeros of the effective weight (after masks and quantization)
  double sparsity() const { return weights == 0 ? 0.0 : static_cast<double>(zeros) / static_cast<double>(weights); }
};

struct PruneReport {
  std::vector<PrunedLayer> layers;  // every Linear of the model, in module order
  double overall_sparsity() const;  // zeros over weights of all of them
};

// {"overall_sparsity": s, "layers": {"<name>": {"weights": n, "zeros": z, "sparsity": s}}}
nlohmann::json to_json(const PruneReport& report);

// The batch whose Linear inputs set the fixed threshold of global l1
// activation pruning (Mase takes them from the activations its metadata pass
// recorded).
struct PruneCalibration {
  torch::Tensor input_ids;       // [B, L] int64
  torch::Tensor attention_mask;  // [B, L]
};

// Mase's prune_transform_pass for whittle's Linears: every Linear of the
// model (quantized or not) gets a prune transform, placed before any other
// transform so that quantization sees the masked weight and input. Weight
// masks are computed now from the weights (random: one generator seeded with
// `seed`, drawn layer by layer in module order) and stay fixed; the raw
// weights are zeroed where masked, so plain views of the parameters agree.
// An existing prune transform is replaced; the new masks are computed from
// the weights as it left them.
//
// Local l1 activation pruning makes each layer's mask depend on the values of
// its whole input; the model's [CLS]-only last layer sees that and calibrates
// (model::BertLayerImpl::forward_as_last_layer). Random activation masks
// depend on positions alone: the [CLS] row gets its part of the whole
// input's mask.
// Global l1 activation pruning needs `calibration`: one forward pass over it
// fixes a threshold on the magnitudes of all Linear inputs together.
//
// Throws whittle::Error, leaving the model as it was, when the config prunes
// nothing or lacks a calibration it needs.
PruneReport prune_pass(model::BertForSequenceClassification& model, const PruneConfig& config, uint64_t seed,
                       const std::optional<PruneCalibration>& calibration = std::nullopt);

// Measures the effective weights of every Linear (pruned or not).
PruneReport measure_weight_sparsity(torch::nn::Module& root);

// Detaches every prune transform; returns how many there were.
int64_t remove_pruning(model::BertForSequenceClassification& model);

// For export to a plain checkpoint: weight = weight * mask for every pruned
// Linear, then its prune transform is detached, so the masked weights are
// exact zeros in the parameters. Activation pruning has no place in such a
// checkpoint and is dropped. Returns the names of the layers baked.
std::vector<std::string> bake_pruning(torch::nn::Module& root);

// whittle.json's record of the prune transforms attached to `model`
// (std::nullopt when there are none):
//   {"masks": "stored", "layers": {"<name>": {"weight": {...}, "activation": {...},
//                                              "activation_seed": n}}}
// The masks themselves (and calibrated thresholds) are buffers of the
// transforms, saved with the tensors as "<name>.prune.weight_mask".
std::optional<nlohmann::json> record_pruning(model::BertForSequenceClassification& model);

// Re-attaches the recorded prune transforms without computing any mask: the
// masks are created keeping everything, for the checkpoint's tensors to
// fill. Throws whittle::Error naming `origin` for a malformed record or a
// layer the model lacks.
void restore_recorded_pruning(model::BertForSequenceClassification& model, const nlohmann::json& record,
                              const std::string& origin);

}  // namespace whittle::passes
