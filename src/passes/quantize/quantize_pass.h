#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/bert.h"
#include "passes/quantize/quantize_config.h"

namespace whittle::passes {

struct QuantizedLayer {
  std::string name;  // module path, "bert.encoder.layer.0.attention.self.query"
  std::optional<IntegerQuantization> quantization;  // std::nullopt: left unquantized
};

struct QuantizeReport {
  std::vector<QuantizedLayer> layers;  // every Linear of the model, in module order
  int64_t quantized_count() const;
};

// {"quantized": n, "layers": {"<name>": {"name": "integer", ...} or {"name": "NA"}}}
nlohmann::json to_json(const QuantizeReport& report);

// Mase's quantize_transform_pass for whittle's Linears (in BERT: Q, K, V and
// attention output, both FFN layers of every encoder layer, the pooler and
// the classifier). Every Linear ends up with exactly the quantization the
// config gives it: a quantize transform already attached is replaced, and
// removed where the config says "NA". Nothing changes when the config does
// not fit the model (a by-name or by-regex section that selects no layer,
// a layer two patterns select): that throws whittle::Error.
//
// To store the quantization with a checkpoint, keep to_json(config) in its
// whittle.json; parse_quantize_config(stored, origin) and this pass re-apply it.
QuantizeReport quantize_pass(torch::nn::Module& root, const QuantizeConfig& config);
QuantizeReport quantize_pass(model::BertForSequenceClassification& model, const QuantizeConfig& config);

// Detaches every quantize transform; returns how many there were.
int64_t remove_quantization(torch::nn::Module& root);

// For export to a plain Hugging Face checkpoint: writes q(weight) and q(bias)
// into the parameters of every quantized Linear and detaches its transform.
// The input quantization has no place in such a checkpoint and is dropped, so
// the exported model computes with float activations. Returns the names of
// the layers baked.
std::vector<std::string> bake_quantization(torch::nn::Module& root);

}  // namespace whittle::passes
