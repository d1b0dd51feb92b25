#include "experiments/lab_config.h"

#include <map>

#include "experiments/mixed/mixed_search.h"
#include "experiments/prune_sweep.h"
#include "experiments/quant_sweep.h"
#include "passes/config_file.h"
#include "passes/lora/lora_config.h"
#include "passes/prune/prune_config.h"
#include "passes/quantize/fixed_point.h"
#include "util/config_table.h"
#include "util/error.h"

namespace whittle::experiments {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// "quantize.widths=[4, 8]" → {"quantize": {"widths": [4, 8]}} merged into
// `document`; returns the key ("quantize.widths").
std::string apply_override(json& document, const std::string& assignment) {
  // Parsed as one TOML line, a second line would be dropped without a word.
  if (assignment.find_first_of("\r\n") != std::string::npos) {
    throw Error("--set takes one KEY=VALUE per flag, but " + json(assignment).dump() + " spans several lines");
  }
  auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw Error("--set " + assignment + ": expected KEY=VALUE, e.g. quantize.widths=[4,8]");
  }
  std::string key = assignment.substr(0, equals);
  std::string text = assignment.substr(equals + 1);
  json value;
  try {
    value = passes::parse_toml("value = " + text, "--set").at("value");
  } catch (const Error&) {
    value = text;  // a bare word: a string, as a shell user would expect
  }
  json* slot = &document;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw Error("--set " + assignment + ": empty key part in \"" + key + "\"");
    if (slot->is_null()) *slot = json::object();  // a table the file leaves out
    if (!slot->is_object()) throw Error("--set " + assignment + ": " + key.substr(0, start - 1) + " is not a table");
    slot = &(*slot)[part];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  *slot = value;
  return key;
}

void set_path(json& document, const char* table, const char* key, const fs::path& path, const std::string& origin) {
  json& slot = document[table];
  if (slot.is_null()) slot = json::object();
  if (!slot.is_object()) throw Error(origin + ": " + table + " is not a table");
  slot[key] = path.string();
}

json select_profile(json& document, const std::string& profile, const std::string& origin) {
  json profiles = document.contains("profiles") ? document["profiles"] : json::object();
  document.erase("profiles");
  if (profile.empty()) return document;
  if (!profiles.is_object() || !profiles.contains(profile)) {
    std::string known;
    if (profiles.is_object()) {
      for (const auto& [name, value] : profiles.items()) known += (known.empty() ? "" : ", ") + name;
    }
    throw Error(origin + ": no profile \"" + profile + "\" (profiles here: " + (known.empty() ? "none" : known) + ")");
  }
  document.merge_patch(profiles[profile]);
  return document;
}

train::TrainOptions read_training(const ConfigTable& table, train::TrainOptions options, uint64_t seed) {
  table.allow_only(
      {"epochs", "batch_size", "learning_rate", "weight_decay", "warmup_ratio", "max_grad_norm", "freeze_embeddings"});
  options.epochs = table.integer("epochs", options.epochs);
  options.batch_size = table.integer("batch_size", options.batch_size);
  options.learning_rate = table.number("learning_rate", options.learning_rate);
  options.weight_decay = table.number("weight_decay", options.weight_decay);
  options.warmup_ratio = table.number("warmup_ratio", options.warmup_ratio);
  options.max_grad_norm = table.number("max_grad_norm", options.max_grad_norm);
  options.freeze_embeddings = table.boolean("freeze_embeddings", options.freeze_embeddings);
  options.seed = seed;
  try {
    options.validate();
  } catch (const Error& error) {
    throw Error(table.origin() + ": " + error.what());
  }
  return options;
}

fs::path resolve_path(const std::string& text, const fs::path& base_dir) {
  if (text.empty()) return {};
  fs::path path(text);
  return path.is_absolute() ? path : (base_dir / path).lexically_normal();
}

LabDataConfig read_data(const ConfigTable& table, const fs::path& base_dir) {
  table.allow_only({"source", "source_required", "max_length", "train_limit", "test_limit", "seed"});
  LabDataConfig data;
  data.source = resolve_path(table.string("source", ""), base_dir);
  data.source_required = table.boolean("source_required", false);
  if (data.source_required && data.source.empty()) {
    throw table.error("source", "is empty, but this profile needs the full IMDb dataset: give --data PATH to "
                                "aclImdb_v1.tar.gz or the aclImdb folder");
  }
  data.max_length = table.integer("max_length", data.max_length);
  data.train_limit = table.integer("train_limit", 0);
  data.test_limit = table.integer("test_limit", 0);
  int64_t seed = table.integer("seed", 0);
  if (data.max_length < 3) throw table.error("max_length", "must be at least 3, got " + std::to_string(data.max_length));
  if (data.train_limit < 0) throw table.error("train_limit", "must not be negative");
  if (data.test_limit < 0) throw table.error("test_limit", "must not be negative");
  if (seed < 0) throw table.error("seed", "must not be negative");
  data.seed = static_cast<uint64_t>(seed);
  return data;
}

LabBaseConfig read_base(const ConfigTable& table, const fs::path& base_dir, uint64_t seed) {
  table.allow_only({"model", "config", "finetune", "reinit_query_key", "training"});
  LabBaseConfig base;
  base.model = resolve_path(table.string("model", ""), base_dir);
  base.config = resolve_path(table.string("config", ""), base_dir);
  base.finetune = table.boolean("finetune", base.model.empty());
  if (base.model.empty() && !base.finetune) {
    throw table.error("finetune", "must be true when base.model is empty: a random initialisation has to be trained");
  }
  if (!base.model.empty() && !base.config.empty()) {
    throw table.error("config", "is for a random initialisation; base.model names a checkpoint already");
  }
  base.reinit_query_key = table.integer("reinit_query_key", 0);
  if (base.reinit_query_key < 0) throw table.error("reinit_query_key", "must be 0 or more");
  if (base.reinit_query_key > 0 && (base.model.empty() || !base.finetune)) {
    throw table.error("reinit_query_key", "needs a checkpoint in base.model and base.finetune = true");
  }
  base.finetune_options = read_training(table.table("training"), train::hugging_face_trainer_defaults(), seed);
  return base;
}

LabLoraConfig read_lora(const ConfigTable& table, const json& raw, uint64_t seed) {
  LabLoraConfig lora;
  lora.enabled = table.boolean("enabled", true);
  lora.training = read_training(table.table("training"), train::hugging_face_trainer_defaults(), seed);
  lora.adapter = raw.is_object() ? raw : json::object();  // the LoRA pass checks its own keys
  lora.adapter.erase("enabled");
  lora.adapter.erase("training");
  passes::parse_lora_config(lora.adapter, table.origin() + ": lora");  // fail now, not after hours of earlier stages
  return lora;
}

LabMixedConfig read_mixed(const ConfigTable& table, uint64_t seed) {
  table.allow_only({"enabled", "budget_points", "validation_size", "widths", "input_width", "refine_evaluations",
                    "front_points", "qat_train_limit", "training"});
  LabMixedConfig mixed;
  mixed.enabled = table.boolean("enabled", false);
  mixed.budget_points = table.number("budget_points", mixed.budget_points);
  mixed.validation_size = table.integer("validation_size", mixed.validation_size);
  mixed.widths = table.integers("widths", default_search_widths());
  mixed.input_width = table.integer("input_width", mixed.input_width);
  mixed.refine_evaluations = table.integer("refine_evaluations", mixed.refine_evaluations);
  mixed.front_points = table.integer("front_points", mixed.front_points);
  mixed.qat_train_limit = table.integer("qat_train_limit", mixed.qat_train_limit);
  train::TrainOptions qat_defaults = train::hugging_face_trainer_defaults();
  qat_defaults.freeze_embeddings = true;  // as the lab's QAT after LoRA
  mixed.training = read_training(table.table("training"), qat_defaults, seed);
  if (mixed.validation_size < 1) throw table.error("validation_size", "must be at least 1");
  table.check("budget_points", [&] {
    MixedSearchOptions options;
    options.budget_points = mixed.budget_points;
    options.widths = mixed.widths;
    options.input_width = mixed.input_width;
    options.refine_evaluations = mixed.refine_evaluations;
    options.front_points = mixed.front_points;
    options.qat_train_limit = mixed.qat_train_limit;
    options.qat = mixed.training;
    options.validate();
  });
  return mixed;
}

}  // namespace

LabConfig parse_lab_config(json document, const std::string& origin, const fs::path& base_dir,
                           const std::string& profile, const LabOverrides& overrides) {
  if (!document.is_object()) throw Error(origin + ": the lab config must be a table");
  document = select_profile(document, profile, origin);
  // Errors about a value given on the command line name the flag, not the file.
  std::map<std::string, std::string> origins_by_path;
  for (const auto& assignment : overrides.set) origins_by_path[apply_override(document, assignment)] = "--set " + assignment;
  if (overrides.data_source) {
    set_path(document, "data", "source", *overrides.data_source, origin);
    origins_by_path["data.source"] = "--data";
  }
  if (overrides.base_model) {
    set_path(document, "base", "model", *overrides.base_model, origin);
    origins_by_path["base.model"] = "--base";
  }

  ConfigTable root(document, origin, std::move(origins_by_path));
  root.allow_only({"title", "data", "base", "lora", "quantize", "prune", "mixed", "eval"});
  LabConfig config;
  config.profile = profile;
  config.resolved = document;
  config.title = root.string("title", "whittle lab");
  config.data = read_data(root.table("data"), base_dir);
  uint64_t seed = config.data.seed;
  config.base = read_base(root.table("base"), base_dir, seed);
  config.lora = read_lora(root.table("lora"), document.value("lora", json::object()), seed);

  ConfigTable quantize = root.table("quantize");
  quantize.allow_only({"widths", "training"});
  config.quant_widths = quantize.integers("widths", default_quant_widths());
  quantize.check("widths", [&] { validate_quant_widths(config.quant_widths, std::nullopt); });
  config.qat = read_training(quantize.table("training"), train::hugging_face_trainer_defaults(), seed);

  ConfigTable prune = root.table("prune");
  prune.allow_only({"sparsities", "methods", "activations", "training"});
  config.sparsities = prune.numbers("sparsities", default_sparsities());
  config.prune_methods = prune.strings("methods", default_prune_methods());
  config.prune_activations = prune.boolean("activations", true);
  prune.check("sparsities", [&] { validate_sparsities(config.sparsities); });
  prune.check("methods", [&] { validate_prune_methods(config.prune_methods); });
  config.prune_finetune = read_training(prune.table("training"), train::hugging_face_trainer_defaults(), seed);

  config.mixed = read_mixed(root.table("mixed"), seed);

  ConfigTable eval = root.table("eval");
  eval.allow_only({"batch_size"});
  config.eval_batch_size = eval.integer("batch_size", 32);
  if (config.eval_batch_size < 1) throw eval.error("batch_size", "must be at least 1");
  return config;
}

LabConfig load_lab_config(const fs::path& path, const std::string& profile, const LabOverrides& overrides) {
  json document = passes::read_config_file(path, "lab config");
  return parse_lab_config(std::move(document), path.string(), fs::absolute(path).parent_path(), profile, overrides);
}

}  // namespace whittle::experiments
