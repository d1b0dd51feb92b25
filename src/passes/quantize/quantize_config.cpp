#include "passes/quantize/quantize_config.h"

#include "passes/config_file.h"

#include <algorithm>
#include <regex>
#include <sstream>

#include <toml++/toml.h>

#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

using nlohmann::json;

constexpr const char* kIntegerName = "integer";
constexpr const char* kUnquantizedName = "NA";
constexpr const char* kSectionHint =
    " (a section holds only a config table; in TOML, quote a dotted layer name: [\"a.b\".config])";

std::string json_type_name(const json& value) {
  if (value.is_number_float()) return "a float";
  if (value.is_number_integer()) return "an integer";
  if (value.is_boolean()) return "a boolean";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "an array";
  if (value.is_object()) return "a table";
  return "null";
}

std::string describe_value(const json& value) {
  if (value.is_object()) return "a table";
  if (value.is_array()) return "an array";
  return json_type_name(value) + " (" + value.dump() + ")";
}

int64_t read_integer(const json& value, const ConfigLocation& at, const std::string& path, int64_t lowest,
                     int64_t highest) {
  bool in_range = value.is_number_integer() && !value.is_boolean();
  if (in_range && value.is_number_unsigned()) in_range = value.get<uint64_t>() <= static_cast<uint64_t>(highest);
  if (in_range) {
    int64_t number = value.get<int64_t>();
    if (number >= lowest && number <= highest) return number;
  }
  throw at.error(path, "must be an integer from " + std::to_string(lowest) + " to " + std::to_string(highest) +
                           ", got " + describe_value(value));
}

std::string join_quoted(const std::vector<std::string>& words) {
  std::string joined;
  for (const auto& word : words) joined += (joined.empty() ? "\"" : ", \"") + word + "\"";
  return joined;
}

FixedPointFormat read_format(const json& config, const ConfigLocation& at, const std::string& section_path,
                             const std::string& operand) {
  std::string width_key = operand + "_width";
  std::string frac_key = operand + "_frac_width";
  if (!config.contains(width_key)) throw at.error(section_path + width_key, "is missing");
  FixedPointFormat format;
  format.width = read_integer(config.at(width_key), at, section_path + width_key, 1, 32);
  // Mase's quantize pass reads every frac width (a missing one is a KeyError
  // there), so a config that runs in whittle also runs in Mase.
  if (!config.contains(frac_key)) {
    throw at.error(section_path + frac_key, "is missing (the lab uses width / 2: " + frac_key + " = " +
                                                std::to_string(format.width / 2) + ")");
  }
  // The ranges validate_fixed_point_format gives, named with the key.
  const int64_t highest_frac = operand == "data_in" ? format.width : 127;
  format.frac_width = read_integer(config.at(frac_key), at, section_path + frac_key, 0, highest_frac);
  return format;
}

const std::vector<std::string>& section_config_keys() {
  static const std::vector<std::string> keys = {"name",         "data_in_width",     "data_in_frac_width",
                                                "weight_width", "weight_frac_width", "bias_width",
                                                "bias_frac_width"};
  return keys;
}

std::optional<IntegerQuantization> read_section(const json& section, const ConfigLocation& at, const std::string& name) {
  expect_table(section, at, name);
  for (const auto& [key, value] : section.items()) {
    if (key != "config") throw at.error(name + "." + key, std::string("is not a known key") + kSectionHint);
  }
  if (!section.contains("config")) throw at.error(name, std::string("has no config table") + kSectionHint);
  std::string path = name + ".config.";
  const json& config = expect_table(section.at("config"), at, name + ".config");
  for (const auto& [key, value] : config.items()) {
    const auto& known = section_config_keys();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw at.error(path + key, "is not a known key (known: " + join_quoted(known) + ")");
    }
  }
  if (!config.contains("name")) throw at.error(path + "name", "is missing");
  const json& quantizer = config.at("name");
  if (quantizer.is_null() || quantizer == kUnquantizedName) return std::nullopt;  // Mase: None or "NA"
  if (quantizer != kIntegerName) {
    throw at.error(path + "name", "names an unsupported quantizer " + describe_value(quantizer) +
                                      " (supported: \"integer\", and \"NA\" for none)");
  }
  return IntegerQuantization{read_format(config, at, path, "data_in"), read_format(config, at, path, "weight"),
                             read_format(config, at, path, "bias")};
}

QuantizeSelection read_selection(const json& root, const ConfigLocation& at) {
  if (!root.contains("by")) throw at.error("by", "is missing (one of \"type\", \"name\", \"regex_name\")");
  const json& by = root.at("by");
  if (by == "type") return QuantizeSelection::type;
  if (by == "name") return QuantizeSelection::name;
  if (by == "regex_name") return QuantizeSelection::regex_name;
  throw at.error("by", "must be \"type\", \"name\" or \"regex_name\", got " + describe_value(by));
}

void check_section_name(const QuantizeConfig& config, const std::string& section, const ConfigLocation& at) {
  if (config.by == QuantizeSelection::type && section != "linear") {
    throw at.error(section, "is not a layer type whittle quantizes (by type the sections are \"default\" and "
                            "\"linear\")");
  }
  if (config.by == QuantizeSelection::regex_name) {
    try {
      std::regex pattern(section, std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      throw at.error(section, std::string("is not a valid regular expression: ") + error.what());
    }
  }
}

json to_json(const FixedPointFormat& format, const std::string& operand) {
  return {{operand + "_width", format.width}, {operand + "_frac_width", format.frac_width}};
}

json section_json(const std::optional<IntegerQuantization>& quantization) {
  return {{"config", quantization ? to_json(*quantization) : json{{"name", kUnquantizedName}}}};
}

std::string underscored(std::string name) {
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

}  // namespace

std::string to_string(QuantizeSelection by) {
  switch (by) {
    case QuantizeSelection::type:
      return "type";
    case QuantizeSelection::name:
      return "name";
    case QuantizeSelection::regex_name:
      return "regex_name";
  }
  return "type";
}

QuantizeConfig parse_quantize_config(const json& document, const std::string& origin) {
  ConfigLocation at{origin, ""};
  const json& root = pass_section(document, "quantize", at);
  QuantizeConfig config;
  config.origin = origin;
  config.by = read_selection(root, at);
  for (const auto& [key, value] : root.items()) {
    if (key == "by") continue;
    if (key == "report") {
      if (!value.is_boolean()) throw at.error(key, "must be true or false, got " + describe_value(value));
      continue;
    }
    if (key == "default") {
      config.default_config = read_section(value, at, key);
      continue;
    }
    check_section_name(config, key, at);
    config.sections[key] = read_section(value, at, key);
  }
  return config;
}

QuantizeConfig load_quantize_config(const std::filesystem::path& path) {
  return parse_quantize_config(read_config_file(path, "quantize config"), path.string());
}

json to_json(const IntegerQuantization& quantization) {
  json config = {{"name", kIntegerName}};
  config.update(to_json(quantization.data_in, "data_in"));
  config.update(to_json(quantization.weight, "weight"));
  config.update(to_json(quantization.bias, "bias"));
  return config;
}

json to_json(const QuantizeConfig& config) {
  json document = {{"by", to_string(config.by)}, {"default", section_json(config.default_config)}};
  for (const auto& [name, quantization] : config.sections) document[name] = section_json(quantization);
  return document;
}

QuantizeConfig uniform_quantize_config(int64_t width, std::optional<int64_t> frac_width) {
  FixedPointFormat format{width, frac_width.value_or(width / 2)};
  // The one format serves inputs too, so it must suit an input.
  validate_fixed_point_format(format, FixedPointOperand::input);
  QuantizeConfig config;
  config.by = QuantizeSelection::type;
  config.default_config = IntegerQuantization{format, format, format};
  config.origin = "--width " + std::to_string(width) + (frac_width ? " --frac " + std::to_string(*frac_width) : "");
  return config;
}

bool section_selects_layer(const QuantizeConfig& config, const std::string& section, const std::string& layer_name) {
  switch (config.by) {
    case QuantizeSelection::type:
      return false;
    case QuantizeSelection::name:
      return section == layer_name || section == underscored(layer_name);
    case QuantizeSelection::regex_name: {
      std::regex pattern(section, std::regex::ECMAScript);
      return std::regex_match(layer_name, pattern) || std::regex_match(underscored(layer_name), pattern);
    }
  }
  return false;
}

std::optional<IntegerQuantization> quantization_for_layer(const QuantizeConfig& config, const std::string& layer_name) {
  if (config.by == QuantizeSelection::type) {
    auto linear = config.sections.find("linear");
    return linear != config.sections.end() ? linear->second : config.default_config;
  }
  std::vector<std::string> selecting;
  for (const auto& [section, quantization] : config.sections) {
    if (section_selects_layer(config, section, layer_name)) selecting.push_back(section);
  }
  if (selecting.empty()) return config.default_config;
  if (selecting.size() > 1) {
    throw Error(config.origin + ": layer " + layer_name + " is selected by more than one section: " +
                join_quoted(selecting));
  }
  return config.sections.at(selecting.front());
}

}  // namespace whittle::passes
