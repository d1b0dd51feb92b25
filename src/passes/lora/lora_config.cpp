#include "passes/lora/lora_config.h"

#include <cmath>
#include <sstream>

#include "passes/config_file.h"
#include "util/config_table.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

using nlohmann::json;

constexpr const char* kClassifier = "classifier";

// The checks shared by config files and flags; `what` names the key or flag.
int64_t checked_rank(int64_t rank, const std::string& what) {
  if (rank < 1) throw Error(what + " must be an integer of at least 1, got " + std::to_string(rank));
  return rank;
}

double checked_alpha(double alpha, const std::string& what) {
  if (!(alpha > 0.0) || !std::isfinite(alpha)) {
    std::ostringstream message;
    message << what << " must be a positive number, got " << alpha;
    throw Error(message.str());
  }
  return alpha;
}

double checked_dropout(double dropout, const std::string& what) {
  if (!(dropout >= 0.0 && dropout < 1.0)) {
    std::ostringstream message;
    message << what << " must be from 0 to below 1, got " << dropout;
    throw Error(message.str());
  }
  return dropout;
}

double read_number(const json& value, const std::string& what) {
  if (!value.is_number() || value.is_boolean()) throw Error(what + " must be a number, got " + describe_config_value(value));
  return value.get<double>();
}

int64_t read_rank(const json& value, const std::string& what) {
  if (value.is_number_float()) {
    double number = value.get<double>();
    if (number != std::floor(number) || std::abs(number) > 1e15) {
      throw Error(what + " must be an integer of at least 1, got " + value.dump());
    }
    return checked_rank(static_cast<int64_t>(number), what);
  }
  if (!value.is_number_integer()) throw Error(what + " must be an integer of at least 1, got " + describe_config_value(value));
  return checked_rank(value.get<int64_t>(), what);
}

std::vector<std::string> read_targets(const json& value, const std::string& what) {
  if (!value.is_array() || value.empty()) {
    throw Error(what + " must be a non-empty array of module names, got " + describe_config_value(value));
  }
  std::vector<std::string> targets;
  for (const auto& item : value) {
    if (!item.is_string() || item.get_ref<const std::string&>().empty()) {
      throw Error(what + " must hold non-empty module names, got " + describe_config_value(item));
    }
    const std::string& target = item.get_ref<const std::string&>();
    if (target == kClassifier) {
      throw Error(what + " names \"classifier\": the classifier is trained in full and takes no adapter");
    }
    targets.push_back(target);
  }
  return targets;
}

// Each setting has Mase's pass key and the spelling the lab (or PEFT) uses.
struct Setting {
  const char* name;
  const char* alias;
};
constexpr Setting kRank{"rank", "r"};
constexpr Setting kAlpha{"lora_alpha", "alpha"};
constexpr Setting kDropout{"lora_dropout", "dropout"};
constexpr const char* kTargets = "target_modules";

// The value of a setting under either name; both at once is ambiguous.
const json* find_setting(const json& root, const Setting& setting, const std::string& at) {
  bool has_name = root.contains(setting.name);
  bool has_alias = root.contains(setting.alias);
  if (has_name && has_alias) {
    throw Error(at + setting.name + " and " + at + setting.alias + " give the same setting twice; keep one");
  }
  if (has_name) return &root.at(setting.name);
  if (has_alias) return &root.at(setting.alias);
  return nullptr;
}

std::string key_of(const json& root, const Setting& setting, const std::string& at) {
  return at + (root.contains(setting.name) ? setting.name : setting.alias);
}

}  // namespace

LoraConfig parse_lora_config(const json& document, const std::string& origin) {
  std::string prefix = origin + ": ";
  if (!document.is_object()) throw Error(prefix + "(top level) must be a table, got " + describe_config_value(document));
  const json* root = &document;
  if (document.contains("passes")) {  // a whole Mase ch config: the rest is for other ch actions
    const json& passes = document.at("passes");
    if (!passes.is_object() || !passes.contains("lora")) throw Error(prefix + "passes.lora is missing");
    root = &passes.at("lora");
    if (!root->is_object()) throw Error(prefix + "passes.lora must be a table, got " + describe_config_value(*root));
    prefix += "passes.lora.";
  }
  for (const auto& [key, value] : root->items()) {
    bool known = key == kTargets;
    for (const Setting& setting : {kRank, kAlpha, kDropout}) known = known || key == setting.name || key == setting.alias;
    if (!known) {
      throw Error(prefix + key +
                  " is not a known key (known: \"rank\" or \"r\", \"lora_alpha\" or \"alpha\", "
                  "\"lora_dropout\" or \"dropout\", \"target_modules\")");
    }
  }
  LoraConfig config;
  config.origin = origin;
  if (const json* rank = find_setting(*root, kRank, prefix)) config.rank = read_rank(*rank, key_of(*root, kRank, prefix));
  if (const json* alpha = find_setting(*root, kAlpha, prefix)) {
    std::string key = key_of(*root, kAlpha, prefix);
    config.alpha = checked_alpha(read_number(*alpha, key), key);
  }
  if (const json* dropout = find_setting(*root, kDropout, prefix)) {
    std::string key = key_of(*root, kDropout, prefix);
    config.dropout = checked_dropout(read_number(*dropout, key), key);
  }
  if (root->contains(kTargets)) config.target_modules = read_targets(root->at(kTargets), prefix + kTargets);
  return config;
}

LoraConfig load_lora_config(const std::filesystem::path& path) {
  return parse_lora_config(read_config_file(path, "lora config"), path.string());
}

json to_json(const LoraConfig& config) {
  json document = {{kRank.name, config.rank}, {kAlpha.name, config.alpha}, {kDropout.name, config.dropout}};
  if (!config.target_modules.empty()) document[kTargets] = config.target_modules;
  return document;
}

LoraConfig lora_config_from_flags(std::optional<int64_t> rank, std::optional<double> alpha,
                                  std::optional<double> dropout) {
  LoraConfig config;
  if (rank) config.rank = checked_rank(*rank, "--rank");
  if (alpha) config.alpha = checked_alpha(*alpha, "--alpha");
  if (dropout) config.dropout = checked_dropout(*dropout, "--dropout");
  std::ostringstream flags;
  flags << "--rank " << config.rank << " --alpha " << config.alpha << " --dropout " << config.dropout;
  config.origin = flags.str();
  return config;
}

}  // namespace whittle::passes
