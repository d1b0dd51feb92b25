#include "experiments/mixed/mixed_config.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "experiments/mixed/quant_targets.h"
#include "util/error.h"
#include "util/hash.h"

namespace whittle::experiments {
namespace {

passes::FixedPointFormat format_at(const FracTable& fracs, const std::string& key, int64_t width) {
  auto tensor = fracs.find(key);
  if (tensor == fracs.end() || !tensor->second.contains(width)) {
    throw Error("no frac width was chosen for " + key + " at " + std::to_string(width) + " bits");
  }
  return {width, tensor->second.at(width)};
}

std::string mase_node_name(std::string linear) {
  std::replace(linear.begin(), linear.end(), '.', '_');
  return linear;
}

void write_format(std::ostringstream& out, const std::string& operand, const passes::FixedPointFormat& format) {
  out << operand << "_width = " << format.width << "\n" << operand << "_frac_width = " << format.frac_width << "\n";
}

void write_section(std::ostringstream& out, const std::string& name,
                   const std::optional<passes::IntegerQuantization>& quantization) {
  out << "\n[" << name << ".config]\n";
  if (!quantization) {
    out << "name = \"NA\"\n";
    return;
  }
  out << "name = \"integer\"\n";
  write_format(out, "data_in", quantization->data_in);
  write_format(out, "weight", quantization->weight);
  write_format(out, "bias", quantization->bias);
}

}  // namespace

std::string to_string(UniformRule rule) { return rule == UniformRule::half ? "half" : "calibrated"; }

MixedFormats formats_of(const std::vector<std::string>& linears, const WidthChoice& choice, int64_t input_width,
                        const FracTable& fracs) {
  MixedFormats formats;
  for (const std::string& linear : linears) {
    for (TensorRole role : {TensorRole::input, TensorRole::weight, TensorRole::bias}) {
      const std::string key = QuantTarget{linear, role}.key();
      int64_t width = input_width;
      if (is_parameter(role)) {
        auto chosen = choice.find(key);
        if (chosen == choice.end()) throw Error("the width choice has no width for " + key);
        width = chosen->second;
      }
      formats[key] = format_at(fracs, key, width);
    }
  }
  return formats;
}

MixedFormats uniform_formats(const std::vector<std::string>& linears, int64_t width, const FracTable* fracs) {
  MixedFormats formats;
  for (const std::string& linear : linears) {
    for (TensorRole role : {TensorRole::input, TensorRole::weight, TensorRole::bias}) {
      const std::string key = QuantTarget{linear, role}.key();
      formats[key] = fracs ? format_at(*fracs, key, width) : passes::FixedPointFormat{width, width / 2};
    }
  }
  return formats;
}

passes::QuantizeConfig by_name_config(const std::vector<std::string>& linears, const MixedFormats& formats) {
  passes::QuantizeConfig config;
  config.by = passes::QuantizeSelection::name;
  config.default_config = std::nullopt;
  config.origin = "mixed-precision config";
  auto format = [&](const std::string& linear, TensorRole role) {
    auto found = formats.find(QuantTarget{linear, role}.key());
    if (found == formats.end()) throw Error("the mixed formats have none for " + QuantTarget{linear, role}.key());
    return found->second;
  };
  for (const std::string& linear : linears) {
    config.sections[mase_node_name(linear)] = passes::IntegerQuantization{
        format(linear, TensorRole::input), format(linear, TensorRole::weight), format(linear, TensorRole::bias)};
  }
  return config;
}

std::string to_toml(const passes::QuantizeConfig& config, const std::string& comment) {
  std::ostringstream out;
  std::istringstream lines(comment);
  for (std::string line; std::getline(lines, line);) out << "# " << line << "\n";
  out << "by = \"" << passes::to_string(config.by) << "\"\n";
  write_section(out, "default", config.default_config);
  for (const auto& [name, quantization] : config.sections) {
    const bool bare = std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    write_section(out, bare ? name : nlohmann::json(name).dump(), quantization);
  }
  return out.str();
}

std::string formats_digest(const MixedFormats& formats) {
  Fnv1a64 digest;
  for (const auto& [key, format] : formats) {
    digest.add(key + "=" + std::to_string(format.width) + "/" + std::to_string(format.frac_width) + ";");
  }
  return digest.hex();
}

nlohmann::json to_json(const MixedFormats& formats) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, format] : formats) json[key] = {format.width, format.frac_width};
  return json;
}

MixedFormats mixed_formats_from_json(const nlohmann::json& json) {
  MixedFormats formats;
  for (const auto& [key, pair] : json.items()) formats[key] = {pair.at(0).get<int64_t>(), pair.at(1).get<int64_t>()};
  return formats;
}

LinearBits linear_bits(const MixedFormats& formats, const std::map<std::string, int64_t>& counts) {
  LinearBits bits;
  for (const auto& [key, count] : counts) {
    auto found = formats.find(key);
    if (found == formats.end()) throw Error("the mixed formats have none for " + key);
    bits.bits += found->second.width * count;
    bits.parameters += count;
  }
  return bits;
}

}  // namespace whittle::experiments
