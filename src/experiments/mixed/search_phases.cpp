#include "experiments/mixed/search_phases.h"

#include <ostream>

#include "experiments/sweep_setup.h"
#include "util/error.h"
#include "util/progress.h"

namespace whittle::experiments {
namespace {

// Shorter phases found their results stored and did no work worth timing.
constexpr double kShortestTimedPhaseSeconds = 1.0;
// Recording every candidate format's error costs about this many forward passes.
constexpr double kCalibrationCost = 10.0;
// One example at a time, forward and backward, plus the errors at each width.
constexpr double kFisherCost = 6.0;
// Test points: float, the uniform references (two frac rules each), mixed PTQ and QAT.
constexpr double kFixedTestPoints = 3.0;

double share(const data::TokenizedDataset& set, int64_t size) {
  if (set.size() == 0) return 0.0;
  return static_cast<double>(set.total_tokens()) * std::min(1.0, static_cast<double>(size) / static_cast<double>(set.size()));
}

int64_t pending(const ResultStore& store, const std::string& prefix, int64_t expected) {
  int64_t stored = 0;
  for (const auto& [key, value] : store.points()) stored += key.starts_with(prefix) ? 1 : 0;
  return std::max<int64_t>(0, expected - stored);
}

}  // namespace

std::vector<SearchPhase> planned_phases(const MixedSearchOptions& options, const ValidationSplit& split,
                                        const data::TokenizedDataset& test_set, const ResultStore& store,
                                        size_t linears) {
  const double validation = evaluation_work(split.validation);
  const double sensitivity = share(split.validation, options.sensitivity_size);
  const auto widths = static_cast<int64_t>(options.widths.size());
  const auto tensors = static_cast<int64_t>(3 * linears);
  const double training = share(split.remainder, options.qat_train_limit > 0 ? options.qat_train_limit
                                                                              : split.remainder.size());
  auto unless_stored = [&](const std::string& key, double work) { return store.has(key) ? 0.0 : work; };
  const double test_points = kFixedTestPoints + 2.0 * static_cast<double>(options.test_uniform_widths.size());
  return {
      {"float", "the float model on the validation set and its sensitivity subset",
       unless_stored("float", validation) + unless_stored("float/sensitivity", sensitivity)},
      {"fracs", "frac widths: least squared error of weights, biases and calibration inputs",
       unless_stored("fracs", kCalibrationCost * share(split.validation, options.calibration_size))},
      {"fisher", "one-pass ranking: quantization error weighted by squared gradients",
       unless_stored("fisher", kFisherCost * share(split.validation, options.fisher_size))},
      {"sensitivity", "every tensor alone at every width",
       static_cast<double>(pending(store, "sensitivity/", tensors * widths)) * sensitivity},
      {"uniform", "uniform widths, frac width/2 and calibrated",
       static_cast<double>(pending(store, "uniform/", 2 * widths)) * validation},
      {"search", "greedy path, binary search, measured refinement",
       static_cast<double>(12 + options.front_points + options.refine_evaluations) * validation},
      {"qat", "short quantization-aware training of the chosen widths",
       options.run_qat ? static_cast<double>(options.qat.epochs) * (3.0 * training + validation) : 0.0},
      {"test", "the final models on the test split",
       options.evaluate_test ? test_points * evaluation_work(test_set) : 0.0},
  };
}

void SearchPhases::begin(const std::string& name) {
  finish();
  for (size_t i = 0; i < phases_.size(); ++i) {
    if (phases_[i].name != name) continue;
    running_ = i;
    started_ = std::chrono::steady_clock::now();
    double remaining = 0.0;
    for (size_t j = i; j < phases_.size(); ++j) remaining += phases_[j].work;
    log_ << "[search " << i + 1 << "/" << phases_.size() << "] " << name << ": " << phases_[i].description;
    if (measured_work_ > 0.0) log_ << ", search ETA " << format_duration(measured_seconds_ / measured_work_ * remaining);
    log_ << "\n";
    return;
  }
  throw Error("the search has no phase " + name);
}

void SearchPhases::finish() {
  if (!running_) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  if (seconds >= kShortestTimedPhaseSeconds && phases_[*running_].work > 0.0) {
    measured_seconds_ += seconds;
    measured_work_ += phases_[*running_].work;
  }
  log_ << "[search] " << phases_[*running_].name << " finished in " << format_duration(seconds) << "\n";
  running_.reset();
}

}  // namespace whittle::experiments
