#pragma once
#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "data/tokenized.h"
#include "experiments/mixed/mixed_search.h"
#include "experiments/mixed/validation_split.h"
#include "experiments/result_store.h"

namespace whittle::experiments {

// One phase of the search and its expected cost in token-forward passes
// (see SweepSetup's work estimates), what is already stored left out.
struct SearchPhase {
  std::string name;
  std::string description;
  double work = 0.0;
};

std::vector<SearchPhase> planned_phases(const MixedSearchOptions& options, const ValidationSplit& split,
                                        const data::TokenizedDataset& test_set, const ResultStore& store,
                                        size_t linears);

// Announces each phase with an ETA for the whole search, from the rate of
// the phases that did work in this run.
class SearchPhases {
 public:
  SearchPhases(std::ostream& log, std::vector<SearchPhase> phases) : log_(log), phases_(std::move(phases)) {}
  // Ends the running phase and starts `name`.
  void begin(const std::string& name);
  void finish();

 private:
  std::ostream& log_;
  std::vector<SearchPhase> phases_;
  std::optional<size_t> running_;
  std::chrono::steady_clock::time_point started_;
  double measured_seconds_ = 0.0;
  double measured_work_ = 0.0;
};

}  // namespace whittle::experiments
