#include "passes/recorded_passes.h"

#include "passes/lora/lora_pass.h"
#include "passes/prune/prune_pass.h"
#include "passes/quantize/quantize_config.h"
#include "passes/quantize/quantize_pass.h"
#include "passes/quantize/quantize_transform.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

constexpr const char* kQuantizeKey = "quantize";
constexpr const char* kPruneKey = "prune";
constexpr const char* kPassKeys[] = {kQuantizeKey, kPruneKey};

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
  if (whittle.contains(kQuantizeKey)) quantize_pass(model, parse_quantize_config(whittle.at(kQuantizeKey), origin + " [quantize]"));
  // The prune transforms go ahead of quantization whatever the order here;
  // their masks are the checkpoint's tensors, assigned after this.
  if (whittle.contains(kPruneKey)) restore_recorded_pruning(model, whittle.at(kPruneKey), origin + " [prune]");
}

nlohmann::json recorded_passes_of(const nlohmann::json& whittle) {
  nlohmann::json passes = nlohmann::json::object();
  if (!whittle.is_object()) return passes;
  for (const char* key : kPassKeys) {
    if (whittle.contains(key)) passes[key] = whittle.at(key);
  }
  return passes;
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
  if (auto quantization = record_quantization(model)) record[kQuantizeKey] = *quantization;
  if (auto pruning = record_pruning(model)) record[kPruneKey] = *pruning;
  return record;
}

}  // namespace whittle::passes
