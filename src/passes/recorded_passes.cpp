#include "passes/recorded_passes.h"

#include "passes/lora/lora_pass.h"
#include "passes/prune/prune_pass.h"
#include "passes/quantize/quantize_config.h"
#include "passes/quantize/quantize_pass.h"
#include "passes/quantize/quantize_transform.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

// The quantization of every layer, spelled out by name, so that reloading
// reproduces it whatever config (by type, by pattern) produced it.
std::optional<nlohmann::json> record_quantization(model::BertForSequenceClassification& model) {
  QuantizeConfig recorded;
  recorded.by = QuantizeSelection::name;
  bool any = false;
  for (const auto& [name, linear] : model::find_linears(*model)) {
    if (auto transform = linear->find_transform<QuantizeTransformImpl>()) {
      recorded.sections[name] = transform->quantization();
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return to_json(recorded);
}

}  // namespace

void apply_recorded_passes(model::BertForSequenceClassification& model, const nlohmann::json& whittle,
                           const std::string& origin) {
  if (!whittle.is_object()) throw Error(origin + ": expected a JSON object");
  if (whittle.contains("quantize")) quantize_pass(model, parse_quantize_config(whittle.at("quantize"), origin + " [quantize]"));
  // The prune transforms go ahead of quantization whatever the order here;
  // their masks are the checkpoint's tensors, assigned after this.
  if (whittle.contains("prune")) restore_recorded_pruning(model, whittle.at("prune"), origin + " [prune]");
}

nlohmann::json record_passes(model::BertForSequenceClassification& model) {
  // Adapters are training state: a checkpoint holds them fused into the
  // weights. Saved unfused, they would reload as tensors nothing uses and
  // the model would silently lose what it learned.
  if (auto adapted = layers_with_lora(*model); !adapted.empty()) {
    throw Error("cannot save a model with unfused LoRA adapters (" + std::to_string(adapted.size()) +
                " layers, e.g. " + adapted.front() + "): fuse them into the weights first (passes::fuse_lora)");
  }
  nlohmann::json record = nlohmann::json::object();
  if (auto quantization = record_quantization(model)) record["quantize"] = *quantization;
  if (auto pruning = record_pruning(model)) record["prune"] = *pruning;
  return record;
}

}  // namespace whittle::passes
