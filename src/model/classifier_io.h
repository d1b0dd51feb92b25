#pragma once
#include <filesystem>
#include <functional>
#include <vector>

#include "model/bert.h"
#include "model/checkpoint.h"

namespace whittle::model {

// A classifier built from a config with BERT's random initialisation.
BertForSequenceClassification new_classifier(const BertConfig& config, uint64_t seed);

struct LoadedClassifier {
  BertForSequenceClassification model{nullptr};
  nlohmann::json whittle;  // whittle.json of the checkpoint (empty for plain HF ones)
  // Parameters the checkpoint lacked and that were freshly initialised: the
  // pooler and classifier of a pretrained encoder.
  std::vector<std::string> initialised;
};

// Loads a Hugging Face checkpoint directory. A pretrained encoder (BertModel,
// BertForMaskedLM, BertForPreTraining) loads with a fresh pooler and
// classifier; its MLM head is ignored.
// `prepare` runs on the fresh model before the tensors are assigned, with
// the checkpoint's whittle.json: it re-applies recorded passes, whose state
// (masks) the tensors then fill.
using PrepareModel = std::function<void(BertForSequenceClassification&, const nlohmann::json&)>;
LoadedClassifier load_classifier(const std::filesystem::path& dir, uint64_t seed, const PrepareModel& prepare = nullptr);

// The checkpoint of a classifier: its parameters under Hugging Face names.
Checkpoint classifier_checkpoint(BertForSequenceClassification& model, const nlohmann::json& whittle_state);

}  // namespace whittle::model
