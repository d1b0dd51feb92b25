#pragma once
#include <cstdint>
#include <filesystem>
#include <iosfwd>

#include <nlohmann/json.hpp>

#include "data/tokenized.h"
#include "train/evaluate.h"

namespace whittle::experiments {

// The "baseline" point of a sweep: the model it starts from, evaluated on
// the test split, with its size.
nlohmann::json evaluate_baseline(const std::filesystem::path& base_model, uint64_t seed,
                                 const data::TokenizedDataset& test_set, const train::EvalOptions& eval,
                                 std::ostream& log);

}  // namespace whittle::experiments
