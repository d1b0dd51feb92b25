#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "data/tokenized.h"
#include "experiments/mixed/frac_choice.h"
#include "experiments/mixed/search_state.h"
#include "experiments/mixed/width_search.h"

namespace whittle::experiments {

// The chosen configuration as saved models: after PTQ, and after a short
// quantization-aware training on the train split without the validation set.
struct FinishedModels {
  MeasuredConfig chosen;
  std::filesystem::path ptq_model;  // out_dir/models/mixed-ptq
  std::optional<std::filesystem::path> qat_model;  // out_dir/models/mixed-qat
  std::optional<double> qat_validation_accuracy;
  std::optional<double> qat_validation_loss;  // after its best epoch
  std::string qat_key;  // its record in the store
  // QAT is kept only when it raised validation accuracy: the lab's QAT of a
  // model already within a point of float can lose accuracy.
  bool final_is_qat = false;
  std::filesystem::path final_model;
};

// Whether the QAT model replaces the PTQ one: only when it lowers validation
// loss and raises validation accuracy by more than two standard errors of the
// PTQ accuracy on `validation_size` reviews.
bool qat_improves(const MeasuredConfig& ptq, double qat_accuracy, double qat_loss, int64_t validation_size);

// Saves the PTQ model, then trains and saves the QAT model unless the store
// records it and it is on disk (a model missing from disk is trained again).
FinishedModels finish_models(const SearchState& state, const MeasuredConfig& chosen);

// The float model, the uniform references at options.test_uniform_widths
// (both frac rules) and the finished models on the test split, each point
// stored; returns the table: one row per model with its bits and its
// validation and test accuracy.
nlohmann::json evaluate_on_test(const SearchState& state, const FinishedModels& finished, const FracTable& fracs,
                                const data::TokenizedDataset& test_set);

}  // namespace whittle::experiments
