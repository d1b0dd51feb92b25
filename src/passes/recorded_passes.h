#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "model/bert.h"

namespace whittle::passes {

// A compressed checkpoint records the passes applied to it in whittle.json
// ({"quantize": <config>, ...}); loading re-applies them so that the model
// computes as it did when saved.
void apply_recorded_passes(model::BertForSequenceClassification& model, const nlohmann::json& whittle,
                           const std::string& origin);

// The entries of a whittle.json that apply_recorded_passes reads, without
// the notes beside them.
nlohmann::json recorded_passes_of(const nlohmann::json& whittle);

// The whittle.json entries that record the passes now attached to `model`.
nlohmann::json record_passes(model::BertForSequenceClassification& model);

}  // namespace whittle::passes
