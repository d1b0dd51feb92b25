#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <vector>

#include "data/tokenized.h"
#include "experiments/mixed/bit_allocation.h"
#include "experiments/mixed/mixed_config.h"
#include "experiments/mixed/model_pool.h"
#include "experiments/result_store.h"
#include "train/evaluate.h"

namespace whittle::experiments {

// A configuration measured on the validation set.
struct MeasuredConfig {
  MixedFormats formats;
  LinearBits bits;
  double accuracy = 0.0;
  double loss = 0.0;
};
nlohmann::json to_json(const MeasuredConfig& measured);
MeasuredConfig measured_config_from_json(const nlohmann::json& json);

// Measures configurations on the validation set, each once: a result is kept
// in the store under "config/<digest>", so that a resumed search asks again
// and gets the same answer without evaluating.
class ConfigMeter {
 public:
  ConfigMeter(ResultStore& store, ModelPool& pool, const data::TokenizedDataset& validation,
              const train::EvalOptions& eval)
      : store_(store), pool_(pool), validation_(validation), eval_(eval) {}
  MeasuredConfig measure(const MixedFormats& formats);
  int64_t requests() const { return requests_; }

 private:
  ResultStore& store_;
  ModelPool& pool_;
  const data::TokenizedDataset& validation_;
  train::EvalOptions eval_;
  int64_t requests_ = 0;
};

struct WidthSearchSettings {
  double target_accuracy = 0.0;  // a configuration is within budget at or above it
  int64_t front_points = 8;
  int64_t refine_evaluations = 24;
};

struct WidthSearchOutcome {
  WidthChoice choice;
  MeasuredConfig measured;
  bool budget_met = false;  // false: not even the widest choice is within budget
  int64_t evaluations = 0;
};

// The search step:
//   1. the greedy knapsack's path (greedy_path), widest to narrowest;
//   2. a binary search along it for the narrowest measured within budget
//      (accuracy falls along the path, if not strictly);
//   3. `front_points` more path points, evenly spaced in bits, for the front;
//   4. refinement: one-width steps from the best point so far, each kept
//      when its measurement stays within budget: first the small steps
//      (predicted free, or under 1/200 of the bits) all at once, then single
//      steps, most bits saved first, none tried twice once over budget,
//      until `refine_evaluations` are spent or no step is left.
// The result is the smallest measured configuration within budget.
// `measure` gives a width choice's validation accuracy and bits (the
// search's only contact with a model: ConfigMeter through formats_of).
using ChoiceMeasure = std::function<MeasuredConfig(const WidthChoice&)>;
WidthSearchOutcome search_widths(const AllocationProblem& problem, const ChoiceMeasure& measure,
                                 const WidthSearchSettings& settings, std::ostream& log);

// The largest number of measurements search_widths makes on this problem.
int64_t most_search_evaluations(const AllocationProblem& problem, const WidthSearchSettings& settings);

}  // namespace whittle::experiments
