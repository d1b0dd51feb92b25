#pragma once
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenized.h"
#include "experiments/mixed/mixed_config.h"
#include "experiments/sweep_setup.h"
#include "train/trainer.h"

namespace whittle::experiments {

// Every width from 4 to 16, where accuracy goes from lost to kept.
std::vector<int64_t> default_search_widths();

// `whittle search quant`: the smallest Linear layers within an accuracy
// budget, their widths chosen tensor by tensor.
struct MixedSearchOptions : SweepSetup {
  MixedSearchOptions() = default;
  explicit MixedSearchOptions(SweepSetup setup) : SweepSetup(std::move(setup)) {}
  std::filesystem::path tokenizer_dir;  // copied into saved models
  double budget_points = 0.5;           // accuracy points below float allowed on validation
  std::vector<int64_t> widths = default_search_widths();  // candidates for weights and biases
  int64_t input_width = 8;              // every Linear input; 8 keeps the engine's int8 kernels
  int64_t validation_size = 2000;       // carved out of the train split
  uint64_t validation_seed = 0;
  // Validation reviews of the sensitivity table (a balanced subset: the table
  // only ranks tensors, while the budget is judged on the whole set).
  int64_t sensitivity_size = 1000;
  int64_t calibration_size = 32;        // validation reviews that choose the inputs' frac widths
  int64_t fisher_size = 256;            // validation reviews of the one-pass ranking
  int64_t refine_evaluations = 24;      // measured single steps after the greedy path
  int64_t front_points = 8;             // path points measured for the Pareto front
  bool run_qat = true;
  train::TrainOptions qat;              // on the train split without the validation set
  int64_t qat_train_limit = 0;          // balanced subset of that; 0: all of it
  bool evaluate_test = true;            // the final models on the test split
  std::vector<int64_t> test_uniform_widths = {3, 4, 6, 8};  // uniform references on the test split

  // Throws whittle::Error naming the first invalid option.
  void validate() const;
};

struct MixedSearchSummary {
  double float_validation_accuracy = 0.0;
  double target_accuracy = 0.0;  // float - budget
  MixedFormats chosen;
  LinearBits chosen_bits;
  double chosen_validation_accuracy = 0.0;
  double chosen_validation_loss = 0.0;
  bool budget_met = false;
  std::optional<double> qat_validation_accuracy;
  std::optional<double> qat_validation_loss;
  bool final_is_qat = false;
  std::filesystem::path final_model;
  int64_t evaluations = 0;  // configurations measured by the search step
  nlohmann::json test;      // the test-split table (empty without evaluate_test)
  double seconds = 0.0;     // wall time of this run
};
nlohmann::json to_json(const MixedSearchSummary& summary);

// Validation split, float baseline, frac widths, the one-pass Fisher ranking,
// the sensitivity table, uniform references, the greedy search with measured
// refinement, a short QAT, and the test-split report, each stored in
// out_dir/results.json as it finishes, so that a killed search resumes.
// Writes out_dir/{summary.json, sensitivity.*, pareto.*, mixed-config.toml}
// and models/mixed-ptq, models/mixed-qat.
MixedSearchSummary run_mixed_search(const MixedSearchOptions& options, const data::TokenizedDataset& train_set,
                                    const data::TokenizedDataset& test_set, std::ostream& log);

}  // namespace whittle::experiments
