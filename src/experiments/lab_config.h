#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/trainer.h"

namespace whittle::experiments {

// The base model of the lab: a checkpoint directory, or a random
// initialisation of `config`. Either may be fine-tuned on the labelled data
// (every parameter) before LoRA.
struct LabBaseConfig {
  std::filesystem::path model;   // empty: random initialisation
  std::filesystem::path config;  // config.json for the random initialisation
  bool finetune = false;
  // Top encoder layers whose attention query/key are drawn anew before the
  // fine-tune (model/reinitialize.h); needs a checkpoint and finetune.
  int64_t reinit_query_key = 0;
  train::TrainOptions finetune_options;
};

struct LabLoraConfig {
  bool enabled = true;
  nlohmann::json adapter;  // the [lora] keys of the LoRA pass (rank, alpha, dropout, ...)
  train::TrainOptions training;
};

// The optional mixed-precision search (whittle search quant) from the LoRA
// model: per-tensor widths within an accuracy budget on a validation set
// carved out of the train split.
struct LabMixedConfig {
  bool enabled = false;
  double budget_points = 0.5;
  int64_t validation_size = 2000;
  std::vector<int64_t> widths;  // empty: the search's default (4 to 16)
  int64_t input_width = 8;
  int64_t refine_evaluations = 24;
  int64_t front_points = 8;
  int64_t qat_train_limit = 0;
  train::TrainOptions training;  // the short QAT of the chosen widths
};

struct LabDataConfig {
  std::filesystem::path source;  // empty: the IMDb sample shipped with whittle
  bool source_required = false;  // a profile meant for the full dataset must not fall back to the sample
  int64_t max_length = 512;
  int64_t train_limit = 0;  // balanced subsets; 0 = the whole split
  int64_t test_limit = 0;
  uint64_t seed = 0;
};

struct LabConfig {
  std::string title;
  LabDataConfig data;
  LabBaseConfig base;
  LabLoraConfig lora;
  std::vector<int64_t> quant_widths;
  train::TrainOptions qat;
  std::vector<double> sparsities;
  std::vector<std::string> prune_methods;
  bool prune_activations = true;
  train::TrainOptions prune_finetune;
  LabMixedConfig mixed;
  int64_t eval_batch_size = 32;

  std::string profile;     // the profile applied, "" for none
  nlohmann::json resolved;  // the config after profile and overrides, as written to the run directory
};

// What a command line changes in a lab config: `set` as "KEY=VALUE"
// assignments ("quantize.widths=[4, 8]", the value in TOML syntax; a bare
// word is a string), then the typed settings, which win over them.
struct LabOverrides {
  std::vector<std::string> set;
  std::optional<std::filesystem::path> data_source;  // data.source
  std::optional<std::filesystem::path> base_model;   // base.model
};

// Reads a lab config (TOML or JSON), applies the profile ([profiles.<name>],
// merged over the rest) and then the overrides. Relative paths in the file
// are relative to the file's directory. Unknown keys, profiles and invalid
// values throw whittle::Error naming the file and key.
LabConfig load_lab_config(const std::filesystem::path& path, const std::string& profile,
                          const LabOverrides& overrides = {});

// The same from an already parsed document (`origin` names it in errors).
LabConfig parse_lab_config(nlohmann::json document, const std::string& origin, const std::filesystem::path& base_dir,
                           const std::string& profile, const LabOverrides& overrides = {});

}  // namespace whittle::experiments
