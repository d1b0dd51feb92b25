#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/mixed/bit_allocation.h"
#include "experiments/mixed/frac_choice.h"
#include "passes/quantize/fixed_point.h"
#include "passes/quantize/quantize_config.h"

namespace whittle::experiments {

// A format for every input, weight and bias of every Linear, by target key.
using MixedFormats = std::map<std::string, passes::FixedPointFormat>;

// The formats of a width choice: weights and biases at their chosen widths,
// every input at `input_width`, each with its frac width from `fracs`.
MixedFormats formats_of(const std::vector<std::string>& linears, const WidthChoice& choice, int64_t input_width,
                        const FracTable& fracs);

// How a uniform configuration picks its frac widths: width / 2 for every
// tensor (the lab's rule), or each tensor's least-error frac (calibrated).
enum class UniformRule { half, calibrated };
std::string to_string(UniformRule rule);  // "half", "calibrated"

// Every tensor at `width`; frac widths from `fracs`, or width / 2 (the lab's
// rule) when `fracs` is null.
MixedFormats uniform_formats(const std::vector<std::string>& linears, int64_t width, const FracTable* fracs);

// Mase's quantize pass config, by name: one section per Linear named as Mase's
// graph names it ("bert_encoder_layer_0_attention_self_query"), the default
// left unquantized ("NA"), since every Linear has its section.
passes::QuantizeConfig by_name_config(const std::vector<std::string>& linears, const MixedFormats& formats);

// The config as a TOML file `whittle quantize --config` (and Mase) reads.
std::string to_toml(const passes::QuantizeConfig& config, const std::string& comment);

// A short digest of the formats, the key of their measurements.
std::string formats_digest(const MixedFormats& formats);

// {"<target key>": [width, frac_width], ...}
nlohmann::json to_json(const MixedFormats& formats);
MixedFormats mixed_formats_from_json(const nlohmann::json& json);

// The stored bits of the Linears (weights and biases; inputs are not stored).
struct LinearBits {
  int64_t bits = 0;
  int64_t parameters = 0;
  double average() const { return parameters == 0 ? 0.0 : static_cast<double>(bits) / static_cast<double>(parameters); }
};
LinearBits linear_bits(const MixedFormats& formats, const std::map<std::string, int64_t>& counts);

}  // namespace whittle::experiments
