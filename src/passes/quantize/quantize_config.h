#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "passes/quantize/fixed_point.h"

namespace whittle::passes {

// Mase's "integer" quantizer settings for one Linear: the formats of its
// input (data_in), weight and bias.
struct IntegerQuantization {
  FixedPointFormat data_in;
  FixedPointFormat weight;
  FixedPointFormat bias;

  bool operator==(const IntegerQuantization&) const = default;
};

// How sections other than "default" pick layers, Mase's `by`:
//   type        the section "linear" applies to every Linear (the only layer
//               type whittle quantizes).
//   name        a section applies to the Linear of that exact name, written
//               as the module path ("bert.encoder.layer.0.attention.self.query")
//               or as Mase's fx node name, dots replaced by underscores
//               ("bert_encoder_layer_0_attention_self_query").
//   regex_name  a section is an ECMAScript regular expression that must match
//               the whole name, the module path or Mase's node name (the
//               one Mase's re.fullmatch sees, dots replaced by underscores);
//               a layer that two patterns match is an error (Mase would
//               take the first in file order, which TOML tables do not keep).
// Layers no section selects get the default section.
enum class QuantizeSelection { type, name, regex_name };

// The arguments of Mase's quantize_transform_pass. A section holding
// std::nullopt leaves its layers unquantized (Mase's name = "NA").
struct QuantizeConfig {
  QuantizeSelection by = QuantizeSelection::type;
  std::optional<IntegerQuantization> default_config;
  std::map<std::string, std::optional<IntegerQuantization>> sections;
  std::string origin = "quantize config";  // the file or source, for messages
};

// Parses Mase's format:
//   by = "type"                     # or "name", "regex_name"
//   report = true                   # accepted, ignored (whittle always reports)
//   [default.config]
//   name = "integer"                # or "NA": leave unquantized
//   data_in_width = 8
//   data_in_frac_width = 4          # every frac width is required, as in
//   weight_width = 8                # Mase's quantize pass
//   weight_frac_width = 4
//   bias_width = 8
//   bias_frac_width = 4
//   [linear.config]                 # by type; by name: a layer name or pattern
//   ...
// A whole Mase `ch` config is accepted too: then only [passes.quantize] is
// read. The three widths are required. Unknown keys, quantizer names other
// than "integer"/"NA", widths outside 1..32, frac widths outside -126..127 and
// non-integer values throw whittle::Error naming the key and `origin`.
QuantizeConfig parse_quantize_config(const nlohmann::json& json, const std::string& origin);

// Reads a .toml or .json file in the format above.
QuantizeConfig load_quantize_config(const std::filesystem::path& path);

// The config in Mase's JSON shape, frac widths filled in; parse_quantize_config
// reads it back unchanged (whittle.json stores it so checkpoints re-apply it).
nlohmann::json to_json(const QuantizeConfig& config);
nlohmann::json to_json(const IntegerQuantization& quantization);

// Every Linear's input, weight and bias as `width` bits with `frac_width`
// fractional bits (width / 2 when omitted): `--width W [--frac F]`.
QuantizeConfig uniform_quantize_config(int64_t width, std::optional<int64_t> frac_width = std::nullopt);

// The settings for the Linear at module path `layer_name`, std::nullopt to
// leave it unquantized. Throws whittle::Error when two regex sections match.
std::optional<IntegerQuantization> quantization_for_layer(const QuantizeConfig& config, const std::string& layer_name);

// Whether a by-name or by-regex section selects the layer (false for "default"
// and for by-type configs).
bool section_selects_layer(const QuantizeConfig& config, const std::string& section, const std::string& layer_name);

std::string to_string(QuantizeSelection by);

}  // namespace whittle::passes
