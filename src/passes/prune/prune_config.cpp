#include "passes/prune/prune_config.h"

#include "passes/config_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "util/config_table.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

using nlohmann::json;

constexpr const char* kElementwise = "elementwise";

double read_sparsity(const json& value, const ConfigLocation& at, const std::string& path) {
  if (value.is_object()) {
    throw at.error(path,
                   "is a table: per-layer sparsities are not supported (Mase's prune pass cannot apply them "
                   "either); give one number");
  }
  if (!value.is_number() || value.is_boolean()) {
    throw at.error(path, "must be a number from 0 to below 1, got " + describe_config_value(value));
  }
  double sparsity = value.get<double>();
  if (!(sparsity >= 0.0 && sparsity < 1.0)) {
    throw at.error(path, "must be from 0 to below 1, got " + value.dump());
  }
  return sparsity;
}

const std::string& read_string(const json& value, const ConfigLocation& at, const std::string& path) {
  if (!value.is_string()) throw at.error(path, "must be a string, got " + describe_config_value(value));
  return value.get_ref<const std::string&>();
}

PruneSettings read_settings(const json& section, const ConfigLocation& at, const std::string& name) {
  expect_table(section, at, name);
  PruneSettings settings;  // Mase's defaults: sparsity 0, random, local
  for (const auto& [key, value] : section.items()) {
    std::string path = name + "." + key;
    if (key == "sparsity") {
      settings.sparsity = read_sparsity(value, at, path);
    } else if (key == "method") {
      settings.method = parse_prune_method(read_string(value, at, path), at.where(path));
    } else if (key == "scope") {
      settings.scope = parse_prune_scope(read_string(value, at, path), at.where(path));
    } else if (key == "granularity") {
      if (read_string(value, at, path) != kElementwise) {
        throw at.error(
            path, "must be \"elementwise\" (the only granularity whittle and Mase implement), got " + value.dump());
      }
    } else {
      throw at.error(path, "is not a known key (known: \"sparsity\", \"method\", \"scope\", \"granularity\")");
    }
  }
  return settings;
}

}  // namespace

std::string to_string(PruneMethod method) { return method == PruneMethod::random ? "random" : "l1-norm"; }
std::string to_string(PruneScope scope) { return scope == PruneScope::local ? "local" : "global"; }

PruneMethod parse_prune_method(const std::string& text, const std::string& what) {
  if (text == "random") return PruneMethod::random;
  if (text == "l1-norm") return PruneMethod::l1_norm;
  throw Error(what + " must be \"random\" or \"l1-norm\", got \"" + text + "\"");
}

PruneScope parse_prune_scope(const std::string& text, const std::string& what) {
  if (text == "local") return PruneScope::local;
  if (text == "global") return PruneScope::global;
  throw Error(what + " must be \"local\" or \"global\", got \"" + text + "\"");
}

PruneConfig parse_prune_config(const json& document, const std::string& origin) {
  ConfigLocation at{origin, ""};
  const json& root = pass_section(document, "prune", at);
  PruneConfig config;
  config.origin = origin;
  for (const auto& [key, value] : root.items()) {
    if (key == "weight") {
      config.weight = read_settings(value, at, key);
    } else if (key == "activation") {
      config.activation = read_settings(value, at, key);
    } else {
      throw at.error(key, "is not a known key (known: \"weight\", \"activation\")");
    }
  }
  if (!config.weight && !config.activation) throw at.error("weight", "is missing (give weight, activation or both)");
  return config;
}

PruneConfig load_prune_config(const std::filesystem::path& path) {
  return parse_prune_config(read_config_file(path, "prune config"), path.string());
}

json to_json(const PruneSettings& settings) {
  return {{"sparsity", settings.sparsity},
          {"method", to_string(settings.method)},
          {"scope", to_string(settings.scope)},
          {"granularity", kElementwise}};
}

json to_json(const PruneConfig& config) {
  json document = json::object();
  if (config.weight) document["weight"] = to_json(*config.weight);
  if (config.activation) document["activation"] = to_json(*config.activation);
  return document;
}

PruneConfig uniform_prune_config(double sparsity, PruneMethod method, PruneScope scope, bool prune_activations) {
  std::ostringstream flags;
  flags << "--sparsity " << sparsity << " --method " << to_string(method) << " --scope " << to_string(scope);
  PruneConfig config;
  config.origin = flags.str();
  ConfigLocation at{config.origin, ""};
  PruneSettings settings{read_sparsity(json(sparsity), at, "sparsity"), method, scope};
  config.weight = settings;
  if (prune_activations) config.activation = settings;
  return config;
}

}  // namespace whittle::passes
