#include "model/bert_config.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <vector>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/path_checks.h"

namespace whittle::model {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct IntegerField {
  const char* key;
  int64_t BertConfig::*member;
  bool required;
};

constexpr IntegerField kIntegerFields[] = {
    {"vocab_size", &BertConfig::vocab_size, true},
    {"hidden_size", &BertConfig::hidden_size, true},
    {"num_hidden_layers", &BertConfig::num_hidden_layers, true},
    {"num_attention_heads", &BertConfig::num_attention_heads, true},
    {"intermediate_size", &BertConfig::intermediate_size, true},
    {"max_position_embeddings", &BertConfig::max_position_embeddings, false},
    {"type_vocab_size", &BertConfig::type_vocab_size, false},
    {"pad_token_id", &BertConfig::pad_token_id, false},
};

struct RealField {
  const char* key;
  double BertConfig::*member;
};

constexpr RealField kRealFields[] = {
    {"hidden_dropout_prob", &BertConfig::hidden_dropout_prob},
    {"attention_probs_dropout_prob", &BertConfig::attention_probs_dropout_prob},
    {"layer_norm_eps", &BertConfig::layer_norm_eps},
    {"initializer_range", &BertConfig::initializer_range},
};

constexpr const char* kHiddenAct = "hidden_act";
constexpr const char* kNumLabels = "num_labels";
constexpr const char* kId2Label = "id2label";
constexpr const char* kLabel2Id = "label2id";

bool is_field_key(const std::string& key) {
  if (key == kHiddenAct || key == kNumLabels) return true;
  for (const auto& field : kIntegerFields) {
    if (key == field.key) return true;
  }
  for (const auto& field : kRealFields) {
    if (key == field.key) return true;
  }
  return false;
}

[[noreturn]] void fail(const std::string& origin, const std::string& problem) {
  throw Error(origin + ": " + problem);
}

std::string quoted(const std::string& key) { return "\"" + key + "\""; }

int64_t integer_value(const json& value, const std::string& key, const std::string& origin) {
  const bool fits = value.is_number_integer() &&
                    !(value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX));
  if (!fits) fail(origin, quoted(key) + " must be an integer, got " + value.dump());
  return value.get<int64_t>();
}

void read_integers(const json& document, const std::string& origin, BertConfig& config) {
  for (const auto& field : kIntegerFields) {
    auto it = document.find(field.key);
    if (it == document.end()) {
      if (field.required) fail(origin, "missing required key " + quoted(field.key));
      continue;
    }
    config.*field.member = integer_value(*it, field.key, origin);
  }
}

void read_reals(const json& document, const std::string& origin, BertConfig& config) {
  for (const auto& field : kRealFields) {
    auto it = document.find(field.key);
    if (it == document.end()) continue;
    if (!it->is_number()) fail(origin, quoted(field.key) + " must be a number, got " + it->dump());
    config.*field.member = it->get<double>();
  }
}

void read_hidden_act(const json& document, const std::string& origin, BertConfig& config) {
  auto it = document.find(kHiddenAct);
  if (it == document.end()) return;
  if (!it->is_string()) fail(origin, "\"hidden_act\" must be a string, got " + it->dump());
  config.hidden_act = it->get<std::string>();
}

// Label names by class index, when `id2label` is a well-formed {"0": name, ...}.
std::optional<std::vector<std::string>> label_names(const json& id2label) {
  if (!id2label.is_object()) return std::nullopt;
  std::vector<std::string> names(id2label.size());
  for (size_t index = 0; index < names.size(); ++index) {
    auto it = id2label.find(std::to_string(index));
    if (it == id2label.end() || !it->is_string()) return std::nullopt;
    names[index] = it->get<std::string>();
  }
  return names;
}

void read_num_labels(const json& document, const std::string& origin, BertConfig& config) {
  std::optional<int64_t> from_key;
  if (auto it = document.find(kNumLabels); it != document.end()) from_key = integer_value(*it, kNumLabels, origin);
  std::optional<int64_t> from_labels;
  if (auto it = document.find(kId2Label); it != document.end()) {
    if (!label_names(*it)) {
      fail(origin, "\"id2label\" must map \"0\", \"1\", ... to label names, got " + it->dump());
    }
    from_labels = static_cast<int64_t>(it->size());
  }
  if (from_key && from_labels && *from_key != *from_labels) {
    fail(origin, "\"num_labels\" is " + std::to_string(*from_key) + " but \"id2label\" names " +
                     std::to_string(*from_labels) + " labels");
  }
  config.num_labels = from_key.value_or(from_labels.value_or(2));
}

void check_positive(int64_t value, const char* key, const std::string& origin) {
  if (value <= 0) fail(origin, quoted(key) + " must be positive, got " + std::to_string(value));
}

// A declared size is checked before anything is allocated by it: 10^12
// vocabulary rows would make LibTorch try to allocate petabytes first.
constexpr int64_t kMaxSize = int64_t{1} << 31;
constexpr double kMaxParameters = 4294967296.0;  // 2^32 float32 parameters: 16 GiB

void check_size(int64_t value, const char* key, const std::string& origin) {
  check_positive(value, key, origin);
  if (value > kMaxSize) fail(origin, quoted(key) + " " + std::to_string(value) + " is implausibly large (above 2^31)");
}

void check_parameter_count(const BertConfig& config, const std::string& origin) {
  double parameters = declared_parameter_count(config);
  if (parameters > kMaxParameters) {
    char amount[64];
    std::snprintf(amount, sizeof amount, "%.3g parameters (%.3g GiB as float32)", parameters,
                  parameters * 4.0 / (1024.0 * 1024.0 * 1024.0));
    fail(origin, std::string("declares a model of ") + amount + ", beyond the 2^32 parameters whittle builds");
  }
}

void check_probability(double value, const char* key, const std::string& origin) {
  if (!(value >= 0.0 && value < 1.0)) fail(origin, quoted(key) + " must be in [0, 1), got " + std::to_string(value));
}

// Keys whittle keeps verbatim but whose other values would make the model
// silently compute something else than the file describes.
void check_supported_variant(const json& extra, const char* key, const char* supported, const std::string& origin) {
  auto it = extra.find(key);
  if (it != extra.end() && *it != supported) {
    fail(origin, quoted(key) + " is " + it->dump() + " but whittle supports only " + quoted(supported));
  }
}

std::vector<std::string> labels_for(const BertConfig& config) {
  auto kept = config.extra.is_object() && config.extra.contains(kId2Label)
                  ? label_names(config.extra.at(kId2Label))
                  : std::nullopt;
  if (kept && static_cast<int64_t>(kept->size()) == config.num_labels &&
      std::set<std::string>(kept->begin(), kept->end()).size() == kept->size()) {
    return *kept;
  }
  std::vector<std::string> generated;
  for (int64_t index = 0; index < config.num_labels; ++index) generated.push_back("LABEL_" + std::to_string(index));
  return generated;
}

}  // namespace

double declared_parameter_count(const BertConfig& config) {
  const double hidden = static_cast<double>(config.hidden_size);
  const double intermediate = static_cast<double>(config.intermediate_size);
  const double embeddings =
      static_cast<double>(config.vocab_size + config.max_position_embeddings + config.type_vocab_size) * hidden +
      2 * hidden;
  const double attention = 4 * (hidden * hidden + hidden) + 2 * hidden;
  const double feed_forward = 2 * hidden * intermediate + intermediate + hidden + 2 * hidden;
  const double head = hidden * hidden + hidden + static_cast<double>(config.num_labels) * (hidden + 1);
  return embeddings + static_cast<double>(config.num_hidden_layers) * (attention + feed_forward) + head;
}

void validate_bert_config(const BertConfig& config, const std::string& origin) {
  check_size(config.vocab_size, "vocab_size", origin);
  check_size(config.hidden_size, "hidden_size", origin);
  check_size(config.num_hidden_layers, "num_hidden_layers", origin);
  check_size(config.num_attention_heads, "num_attention_heads", origin);
  check_size(config.intermediate_size, "intermediate_size", origin);
  check_size(config.max_position_embeddings, "max_position_embeddings", origin);
  check_size(config.type_vocab_size, "type_vocab_size", origin);
  check_size(config.num_labels, "num_labels", origin);
  check_parameter_count(config, origin);
  if (config.hidden_size % config.num_attention_heads != 0) {
    fail(origin, "\"hidden_size\" " + std::to_string(config.hidden_size) + " is not divisible by " +
                     "\"num_attention_heads\" " + std::to_string(config.num_attention_heads));
  }
  if (config.pad_token_id < 0 || config.pad_token_id >= config.vocab_size) {
    fail(origin, "\"pad_token_id\" " + std::to_string(config.pad_token_id) + " is outside the vocabulary of " +
                     std::to_string(config.vocab_size));
  }
  check_probability(config.hidden_dropout_prob, "hidden_dropout_prob", origin);
  check_probability(config.attention_probs_dropout_prob, "attention_probs_dropout_prob", origin);
  if (!(config.layer_norm_eps > 0.0 && std::isfinite(config.layer_norm_eps))) {
    fail(origin, "\"layer_norm_eps\" must be positive, got " + std::to_string(config.layer_norm_eps));
  }
  if (!(config.initializer_range >= 0.0 && std::isfinite(config.initializer_range))) {
    fail(origin, "\"initializer_range\" must be non-negative, got " + std::to_string(config.initializer_range));
  }
  if (config.hidden_act != "gelu") {
    fail(origin, "\"hidden_act\" is \"" + config.hidden_act + "\" but whittle supports only \"gelu\"");
  }
  if (!config.extra.is_object()) fail(origin, "extra keys must form a JSON object");
  check_supported_variant(config.extra, "model_type", "bert", origin);
  check_supported_variant(config.extra, "position_embedding_type", "absolute", origin);
}

BertConfig parse_bert_config(const json& document, const std::string& origin) {
  if (!document.is_object()) fail(origin, "a BERT config must be a JSON object");
  BertConfig config;
  read_integers(document, origin, config);
  read_reals(document, origin, config);
  read_hidden_act(document, origin, config);
  read_num_labels(document, origin, config);
  for (const auto& [key, value] : document.items()) {
    if (!is_field_key(key)) config.extra[key] = value;
  }
  validate_bert_config(config, origin);
  return config;
}

BertConfig parse_bert_config_text(const std::string& text, const std::string& origin) {
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& parse_error) {  // parse_error, or out_of_range for a number like 1e400
    throw Error(origin + ": not valid JSON: " + parse_error.what());
  }
  return parse_bert_config(parsed, origin);
}

BertConfig load_bert_config(const fs::path& config_json) {
  require_regular_file(config_json, "BERT config");
  return parse_bert_config_text(read_file(config_json), config_json.string());
}

json to_json(const BertConfig& config) {
  json out = config.extra.is_object() ? config.extra : json::object();
  out["architectures"] = json::array({"BertForSequenceClassification"});
  out["model_type"] = "bert";
  for (const auto& field : kIntegerFields) out[field.key] = config.*field.member;
  for (const auto& field : kRealFields) out[field.key] = config.*field.member;
  out[kHiddenAct] = config.hidden_act;
  out[kNumLabels] = config.num_labels;
  json id2label = json::object();
  json label2id = json::object();
  const std::vector<std::string> labels = labels_for(config);
  for (size_t index = 0; index < labels.size(); ++index) {
    id2label[std::to_string(index)] = labels[index];
    label2id[labels[index]] = index;
  }
  out[kId2Label] = id2label;
  out[kLabel2Id] = label2id;
  return out;
}

}  // namespace whittle::model
