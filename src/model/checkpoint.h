#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/bert_config.h"
#include "model/safetensors.h"

namespace whittle::model {

// A checkpoint is a directory in the Hugging Face layout: config.json,
// model.safetensors and the tokenizer files (vocab.txt, tokenizer.json,
// tokenizer_config.json, special_tokens_map.json, whichever exist).
// whittle.json, when present, records what whittle did to the model
// (quantization and pruning configs); other tools ignore it.
struct Checkpoint {
  static constexpr const char* config_file = "config.json";
  static constexpr const char* weights_file = "model.safetensors";
  static constexpr const char* whittle_file = "whittle.json";

  BertConfig config;
  TensorMap tensors;  // Hugging Face names, float32
  nlohmann::json whittle = nlohmann::json::object();
};

// Throws whittle::Error when the directory, config.json or model.safetensors
// is missing or malformed.
Checkpoint load_checkpoint(const std::filesystem::path& dir);

// Writes the directory atomically (a killed process leaves the old one or
// the complete new one). Tokenizer files are copied from tokenizer_dir when it
// is not empty.
void save_checkpoint(const std::filesystem::path& dir, const Checkpoint& checkpoint,
                     const std::filesystem::path& tokenizer_dir);

// Copies whichever tokenizer files tokenizer_dir holds into destination.
// Throws whittle::Error when the directory is missing or holds none of them.
void copy_tokenizer_files(const std::filesystem::path& tokenizer_dir, const std::filesystem::path& destination);

// Brings checkpoints from other tools to BertForSequenceClassification names:
// adds the "bert." prefix to bare BertModel names, renames TF-era
// LayerNorm gamma/beta to weight/bias, drops position_ids buffers.
TensorMap normalize_names(TensorMap tensors);

struct LoadReport {
  std::vector<std::string> missing;     // parameters the checkpoint lacks (left as initialised)
  std::vector<std::string> unexpected;  // tensors nothing uses (e.g. cls.* MLM head)
};

// Copies tensors into the module's parameters and buffers by name. A shape
// mismatch throws whittle::Error naming the tensor and both shapes. Names in
// `allowed_missing_prefixes` may be missing; any other missing parameter throws.
LoadReport assign_tensors(torch::nn::Module& module, const TensorMap& tensors,
                          const std::vector<std::string>& allowed_missing_prefixes);

// The module's parameters and persistent buffers by name, detached, contiguous.
TensorMap collect_tensors(const torch::nn::Module& module);

}  // namespace whittle::model
