#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

#include "model/classifier_io.h"

namespace whittle::experiments {

// Loads a classifier checkpoint and re-applies the passes its whittle.json
// records (quantization, pruning), so it computes as it did when saved.
model::LoadedClassifier load_compressed(const std::filesystem::path& dir, uint64_t seed);

// Saves a classifier with whittle.json = `notes` plus the record of the
// passes attached to it. Atomic.
void save_compressed(const std::filesystem::path& dir, model::BertForSequenceClassification& model,
                     nlohmann::json notes, const std::filesystem::path& tokenizer_dir);

}  // namespace whittle::experiments
