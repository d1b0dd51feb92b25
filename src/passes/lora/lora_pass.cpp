#include "passes/lora/lora_pass.h"

#include <algorithm>

#include "model/fused_ops.h"
#include "passes/linear_transforms.h"
#include "passes/lora/lora_transform.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

using NamedLinears = std::vector<std::pair<std::string, model::Linear>>;

constexpr const char* kClassifier = "classifier";

bool matches_target(const std::string& name, const std::string& target) {
  return name == target || name.ends_with("." + target);
}

// The Linears that get adapters, in module order. Every target must select
// one: a typo would otherwise leave a layer silently without an adapter.
NamedLinears select_layers(const NamedLinears& linears, const LoraConfig& config) {
  NamedLinears selected;
  for (const auto& [name, linear] : linears) {
    if (name == kClassifier) continue;
    // &name = name: clang 14 (the fuzz build) cannot capture structured bindings.
    bool wanted = config.target_modules.empty() ||
                  std::any_of(config.target_modules.begin(), config.target_modules.end(),
                              [&name = name](const std::string& target) { return matches_target(name, target); });
    if (wanted) selected.emplace_back(name, linear);
  }
  for (const auto& target : config.target_modules) {
    bool selects = std::any_of(selected.begin(), selected.end(),
                               [&](const auto& entry) { return matches_target(entry.first, target); });
    if (!selects) throw Error(config.origin + ": target_modules entry \"" + target + "\" selects no Linear layer");
  }
  return selected;
}

std::string other_transform_kind(const model::Linear& linear) {
  for (const auto& transform : linear->transforms()) {
    if (transform->kind() != LoraTransformImpl::kKind) return transform->kind();
  }
  return "";
}

bool is_adapter_parameter(const std::string& name) {
  std::string prefix = std::string(".") + LoraTransformImpl::kKind + ".";
  return name.find(prefix) != std::string::npos;
}

bool is_trained_in_full(const std::string& name) {
  return name == std::string(kClassifier) + ".weight" || name == std::string(kClassifier) + ".bias";
}

}  // namespace

double LoraReport::trainable_fraction() const {
  return total_parameters == 0 ? 0.0 : static_cast<double>(trainable_parameters) / static_cast<double>(total_parameters);
}

nlohmann::json to_json(const LoraReport& report) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& layer : report.layers) {
    layers[layer.name] = {
        {"in", layer.in_features}, {"out", layer.out_features}, {"adapter_parameters", layer.adapter_parameters}};
  }
  return {{"trainable_parameters", report.trainable_parameters},
          {"total_parameters", report.total_parameters},
          {"trainable_percent", 100.0 * report.trainable_fraction()},
          {"trained_in_full", report.trained_in_full},
          {"layers", layers}};
}

LoraReport measure_lora(model::BertForSequenceClassification& model) {
  LoraReport report;
  for (const auto& [name, linear] : model::find_linears(*model)) {
    if (auto adapter = linear->find_transform<LoraTransformImpl>()) {
      report.layers.push_back({name, linear->in_features(), linear->out_features(),
                               adapter->lora_A.numel() + adapter->lora_B.numel()});
    }
  }
  for (const auto& item : model->named_parameters()) {
    report.total_parameters += item.value().numel();
    if (!item.value().requires_grad()) continue;
    report.trainable_parameters += item.value().numel();
    if (!is_adapter_parameter(item.key())) report.trained_in_full.push_back(item.key());
  }
  return report;
}

LoraReport lora_pass(model::BertForSequenceClassification& model, const LoraConfig& config, uint64_t seed) {
  NamedLinears linears = model::find_linears(*model);
  if (auto adapted = layers_with_lora(*model); !adapted.empty()) {
    throw Error(config.origin + ": the model already has LoRA adapters (on " + adapted.front() +
                "); fuse them before adding new ones");
  }
  NamedLinears selected = select_layers(linears, config);
  for (const auto& [name, linear] : selected) {
    if (std::string kind = other_transform_kind(linear); !kind.empty()) {
      throw Error(config.origin + ": " + name + " carries a " + kind +
                  " transform; LoRA needs plain Linears (fusing could not reproduce the adapted layer), so export "
                  "the checkpoint to plain weights first (whittle export)");
    }
  }

  // Decided and built before the model changes.
  model::SeedSequence seeds(seed);
  std::vector<LoraTransform> adapters;
  for (const auto& [name, linear] : selected) {
    uint64_t init_seed = seeds.next();
    uint64_t dropout_seed = seeds.next();
    adapters.emplace_back(linear->in_features(), linear->out_features(), config.rank, config.alpha, config.dropout,
                          init_seed, dropout_seed);
  }
  for (size_t i = 0; i < selected.size(); ++i) selected[i].second->attach(adapters[i].ptr());
  for (auto& item : model->named_parameters()) {
    item.value().set_requires_grad(is_adapter_parameter(item.key()) || is_trained_in_full(item.key()));
  }
  return measure_lora(model);
}

std::vector<std::string> fuse_lora(model::BertForSequenceClassification& model) {
  // Every adapter is checked before any is fused, so that a refusal leaves the model as it was.
  for (const auto& [name, linear] : model::find_linears(*model)) {
    if (!linear->find_transform<LoraTransformImpl>()) continue;
    if (std::string kind = other_transform_kind(linear); !kind.empty()) {
      throw Error("cannot fuse the LoRA adapter of " + name + ": the layer also carries a " + kind +
                  " transform, which would then apply to the fused weight");
    }
  }
  std::vector<std::string> fused =
      bake_transforms<LoraTransformImpl>(*model, [](model::LinearImpl& linear, LoraTransformImpl& adapter) {
        linear.weight.add_(adapter.delta_weight());
      });
  for (auto& parameter : model->parameters()) parameter.set_requires_grad(true);
  return fused;
}

std::vector<std::string> layers_with_lora(torch::nn::Module& root) {
  std::vector<std::string> names;
  for (const auto& [name, linear] : model::find_linears(root)) {
    if (linear->find_transform<LoraTransformImpl>()) names.push_back(name);
  }
  return names;
}

}  // namespace whittle::passes
