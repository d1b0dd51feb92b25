#include "passes/prune/prune_pass.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <map>

#include "passes/linear_transforms.h"
#include "passes/prune/magnitude_quantile.h"
#include "passes/prune/prune_masks.h"
#include "passes/prune/prune_transform.h"
#include "util/error.h"
#include "util/hash.h"

namespace whittle::passes {
namespace {

using NamedLinears = std::vector<std::pair<std::string, model::Linear>>;

constexpr const char* kMasksStored = "stored";

// Element layer_index of the splitmix64 sequence that starts at seed, so that
// layers draw independent random activation masks from one pass seed.
uint64_t layer_seed(uint64_t seed, size_t layer_index) { return splitmix64(seed + kSplitmixIncrement * layer_index); }

bool is_global_l1(const std::optional<PruneSettings>& settings) {
  return settings && settings->method == PruneMethod::l1_norm && settings->scope == PruneScope::global;
}

// Puts `transform` before every transform already attached: masks must
// apply to the raw weight and input, ahead of quantization.
void attach_first(model::Linear& linear, const std::shared_ptr<model::LinearTransformImpl>& transform) {
  std::vector<std::shared_ptr<model::LinearTransformImpl>> others = linear->transforms();
  for (const auto& other : others) linear->detach(other->kind());
  linear->attach(transform);
  for (const auto& other : others) linear->attach(other);
}

// The weight as the current pruning leaves it, before quantization.
torch::Tensor pruned_weight(model::Linear& linear) {
  torch::Tensor weight = linear->weight.detach();
  if (auto existing = linear->find_transform<PruneTransformImpl>()) return existing->transform_weight(weight);
  return weight;
}

std::vector<torch::Tensor> compute_weight_masks(const NamedLinears& linears, const PruneSettings& settings,
                                                uint64_t seed) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> weights;
  for (auto [name, linear] : linears) weights.push_back(pruned_weight(linear));
  std::vector<torch::Tensor> masks;
  if (settings.method == PruneMethod::random) {  // one stream over the layers; scope does not matter, as in Mase
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (const auto& weight : weights) masks.push_back(random_keep_mask(weight.sizes(), settings.sparsity, generator));
    return masks;
  }
  if (settings.scope == PruneScope::global) {
    float threshold = magnitude_quantile(weights, settings.sparsity);
    for (const auto& weight : weights) masks.push_back(magnitude_keep_mask(weight, threshold));
    return masks;
  }
  for (const auto& weight : weights) {
    masks.push_back(magnitude_keep_mask(weight, magnitude_quantile(weight, settings.sparsity)));
  }
  return masks;
}

// Records a copy of each Linear's input: attached first, it sees what the
// prune transform will see.
class InputRecorderImpl : public model::LinearTransformImpl {
 public:
  static constexpr const char* kKind = "prune_calibration";
  std::string kind() const override { return kKind; }
  nlohmann::json describe() const override { return nlohmann::json::object(); }
  torch::Tensor transform_input(const torch::Tensor& input) override {
    inputs.push_back(input.detach().clone());
    return input;
  }
  std::vector<torch::Tensor> inputs;
};

// Restores what calibration changes on the model, also when it throws.
class CalibrationScope {
 public:
  CalibrationScope(model::BertForSequenceClassification& model, NamedLinears& linears)
      : model_(model), linears_(linears), was_training_(model->is_training()), cls_only_(model->cls_only_last_layer()) {
    model_->eval();
    model_->set_cls_only_last_layer(false);  // Mase records every position
  }
  ~CalibrationScope() {
    for (auto& [name, linear] : linears_) linear->detach(InputRecorderImpl::kKind);
    model_->train(was_training_);
    model_->set_cls_only_last_layer(cls_only_);
  }
  CalibrationScope(const CalibrationScope&) = delete;
  CalibrationScope& operator=(const CalibrationScope&) = delete;

 private:
  model::BertForSequenceClassification& model_;
  NamedLinears& linears_;
  bool was_training_;
  bool cls_only_;
};

float calibrate_activation_threshold(model::BertForSequenceClassification& model, NamedLinears& linears,
                                     const PruneCalibration& calibration, double sparsity) {
  std::vector<torch::Tensor> inputs;
  {
    CalibrationScope scope(model, linears);
    std::vector<std::shared_ptr<InputRecorderImpl>> recorders;
    for (auto& [name, linear] : linears) {
      recorders.push_back(std::make_shared<InputRecorderImpl>());
      attach_first(linear, recorders.back());
    }
    torch::NoGradGuard no_grad;
    model->forward(calibration.input_ids, calibration.attention_mask);
    for (const auto& recorder : recorders)
      inputs.insert(inputs.end(), recorder->inputs.begin(), recorder->inputs.end());
  }
  return magnitude_quantile(inputs, sparsity);
}

void check_prunes_something(const PruneConfig& config) {
  if (!config.weight && !config.activation) throw Error(config.origin + ": prunes neither weights nor activations");
}

model::Linear find_linear(const NamedLinears& linears, const std::string& name, const std::string& origin) {
  for (const auto& [candidate, linear] : linears) {
    if (candidate == name) return linear;
  }
  throw Error(origin + ": layers." + name + " is not a Linear layer of the model");
}

}  // namespace

double PruneReport::overall_sparsity() const {
  int64_t weights = 0;
  int64_t zeros = 0;
  for (const auto& layer : layers) {
    weights += layer.weights;
    zeros += layer.zeros;
  }
  return weights == 0 ? 0.0 : static_cast<double>(zeros) / static_cast<double>(weights);
}

nlohmann::json to_json(const PruneReport& report) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& layer : report.layers) {
    layers[layer.name] = {{"weights", layer.weights}, {"zeros", layer.zeros}, {"sparsity", layer.sparsity()}};
  }
  return {{"overall_sparsity", report.overall_sparsity()}, {"layers", layers}};
}

PruneReport measure_weight_sparsity(torch::nn::Module& root) {
  torch::NoGradGuard no_grad;
  PruneReport report;
  for (auto& [name, linear] : model::find_linears(root)) {
    torch::Tensor effective = linear->effective_weight();
    report.layers.push_back({name, effective.numel(), effective.numel() - effective.count_nonzero().item<int64_t>()});
  }
  return report;
}

PruneReport prune_pass(model::BertForSequenceClassification& model, const PruneConfig& config, uint64_t seed,
                       const std::optional<PruneCalibration>& calibration) {
  check_prunes_something(config);
  if (is_global_l1(config.activation) && !calibration) {
    throw Error(config.origin +
                ": activation.scope \"global\" with method \"l1-norm\" needs a calibration batch "
                "(its threshold is fixed over the inputs of all Linears); use scope \"local\"");
  }
  NamedLinears linears = model::find_linears(*model);

  // Everything is decided before the model changes.
  std::vector<torch::Tensor> masks;
  if (config.weight) masks = compute_weight_masks(linears, *config.weight, seed);
  std::optional<float> activation_threshold;
  if (is_global_l1(config.activation)) {
    activation_threshold = calibrate_activation_threshold(model, linears, *calibration, config.activation->sparsity);
  }

  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < linears.size(); ++i) {
    auto& linear = linears[i].second;
    linear->detach(PruneTransformImpl::kKind);
    torch::Tensor mask = config.weight ? masks[i] : torch::Tensor();
    if (mask.defined()) linear->weight.mul_(mask);
    attach_first(
        linear,
        PruneTransform(mask, config.weight, config.activation, layer_seed(seed, i), activation_threshold).ptr());
  }
  return measure_weight_sparsity(*model);
}

int64_t remove_pruning(model::BertForSequenceClassification& model) {
  return detach_transforms(*model, PruneTransformImpl::kKind);
}

std::vector<std::string> bake_pruning(torch::nn::Module& root) {
  return bake_transforms<PruneTransformImpl>(root, [](model::LinearImpl& linear, PruneTransformImpl& transform) {
    if (transform.weight_mask().defined()) linear.weight.mul_(transform.weight_mask());
  });
}

std::optional<nlohmann::json> record_pruning(model::BertForSequenceClassification& model) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [name, linear] : model::find_linears(*model)) {
    auto transform = linear->find_transform<PruneTransformImpl>();
    if (!transform) continue;
    nlohmann::json layer = transform->describe();
    layer["activation_seed"] = transform->activation_seed();
    layers[name] = layer;
  }
  if (layers.empty()) return std::nullopt;
  return nlohmann::json{{"masks", kMasksStored}, {"layers", layers}};
}

void restore_recorded_pruning(model::BertForSequenceClassification& model, const nlohmann::json& record,
                              const std::string& origin) {
  if (!record.is_object()) throw Error(origin + ": expected a table");
  for (const auto& [key, value] : record.items()) {
    if (key != "masks" && key != "layers") throw Error(origin + ": " + key + " is not a known key");
  }
  // Only a record whose masks travel with the tensors can be restored
  // without recomputing them (which would need the weights before training).
  if (!record.contains("masks") || record.at("masks") != kMasksStored) {
    throw Error(origin + ": masks must be \"stored\"");
  }
  if (!record.contains("layers") || !record.at("layers").is_object()) {
    throw Error(origin + ": layers must be a table of layer names");
  }
  NamedLinears linears = model::find_linears(*model);
  struct Restored {
    model::Linear linear;
    PruneTransform transform;
  };
  std::vector<Restored> restored;  // all parsed before the model changes
  for (const auto& [name, entry] : record.at("layers").items()) {
    std::string layer_origin = origin + " layers." + name;
    model::Linear linear = find_linear(linears, name, origin);
    if (!entry.is_object()) throw Error(layer_origin + ": expected a table");
    nlohmann::json settings = entry;
    if (!settings.contains("activation_seed") || !settings.at("activation_seed").is_number_unsigned()) {
      throw Error(layer_origin + ": activation_seed must be a non-negative integer");
    }
    uint64_t activation_seed = settings.at("activation_seed").get<uint64_t>();
    settings.erase("activation_seed");
    PruneConfig config = parse_prune_config(settings, layer_origin);
    torch::Tensor mask;
    if (config.weight) mask = torch::ones(linear->weight.sizes(), torch::kBool);
    std::optional<float> threshold;
    if (is_global_l1(config.activation)) threshold = 0.0f;  // the checkpoint holds the calibrated one
    restored.push_back({linear, PruneTransform(mask, config.weight, config.activation, activation_seed, threshold)});
  }
  for (auto& [linear, transform] : restored) {
    linear->detach(PruneTransformImpl::kKind);
    attach_first(linear, transform.ptr());
  }
}

}  // namespace whittle::passes
