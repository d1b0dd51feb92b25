#pragma once
#include <filesystem>
#include <string>

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

// A digest (16 hex digits) of what makes a checkpoint compute what it does:
// config.json, model.safetensors and the passes whittle.json records, but
// not its notes (timings differ between two saves of the same model). Part
// of a sweep's signature, so that a model replaced at the same path does not
// mix its results with the old one's.
std::string model_content_digest(const std::filesystem::path& dir);

}  // namespace whittle::experiments
