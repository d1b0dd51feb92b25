#include "passes/quantize/quantize_pass.h"

#include "passes/linear_transforms.h"
#include "passes/quantize/quantize_transform.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

// Every section that names layers must select at least one: a typo in a layer
// name would otherwise leave that layer silently at the default.
void check_every_section_selects(const QuantizeConfig& config, const std::vector<std::string>& layer_names) {
  if (config.by == QuantizeSelection::type) return;
  for (const auto& [section, quantization] : config.sections) {
    // &section = section: clang 14 (the fuzz build) cannot capture structured bindings.
    bool selects = std::any_of(layer_names.begin(), layer_names.end(), [&, &section = section](const std::string& layer) {
      return section_selects_layer(config, section, layer);
    });
    if (!selects) throw Error(config.origin + ": section \"" + section + "\" selects no Linear layer of the model");
  }
}

}  // namespace

int64_t QuantizeReport::quantized_count() const {
  return std::count_if(layers.begin(), layers.end(), [](const QuantizedLayer& layer) { return layer.quantization; });
}

nlohmann::json to_json(const QuantizeReport& report) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& layer : report.layers) {
    layers[layer.name] = layer.quantization ? to_json(*layer.quantization) : nlohmann::json{{"name", "NA"}};
  }
  return {{"quantized", report.quantized_count()}, {"layers", layers}};
}

QuantizeReport quantize_pass(torch::nn::Module& root, const QuantizeConfig& config) {
  auto linears = model::find_linears(root);
  std::vector<std::string> names;
  for (const auto& [name, linear] : linears) names.push_back(name);
  check_every_section_selects(config, names);

  // Decide everything first, so that a config error leaves the model as it was.
  QuantizeReport report;
  for (const auto& name : names) report.layers.push_back({name, quantization_for_layer(config, name)});

  for (size_t i = 0; i < linears.size(); ++i) {
    auto& linear = linears[i].second;
    linear->detach(QuantizeTransformImpl::kKind);
    const auto& quantization = report.layers[i].quantization;
    if (quantization) linear->attach(QuantizeTransform(*quantization).ptr());
  }
  return report;
}

QuantizeReport quantize_pass(model::BertForSequenceClassification& model, const QuantizeConfig& config) {
  return quantize_pass(*model, config);
}

int64_t remove_quantization(torch::nn::Module& root) { return detach_transforms(root, QuantizeTransformImpl::kKind); }

std::vector<std::string> bake_quantization(torch::nn::Module& root) {
  return bake_transforms<QuantizeTransformImpl>(root, [](model::LinearImpl& linear, QuantizeTransformImpl& transform) {
    linear.weight.copy_(fixed_point_quantize(linear.weight, transform.quantization().weight));
    linear.bias.copy_(fixed_point_quantize(linear.bias, transform.quantization().bias));
  });
}

}  // namespace whittle::passes
