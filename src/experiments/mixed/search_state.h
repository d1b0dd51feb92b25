#pragma once
#include <iosfwd>

#include "experiments/mixed/mixed_search.h"
#include "experiments/mixed/model_pool.h"
#include "experiments/mixed/validation_split.h"
#include "experiments/result_store.h"

namespace whittle::experiments {

// What every phase of the mixed-precision search reads: the options, the
// data, the result store and the float models.
struct SearchState {
  const MixedSearchOptions& options;
  const ValidationSplit& split;
  ResultStore& store;
  ModelPool& pool;
  std::ostream& log;
};

}  // namespace whittle::experiments
