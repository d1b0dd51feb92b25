#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "data/tokenized.h"
#include "train/evaluate.h"

namespace whittle::experiments {

// What every sweep is told before its own settings: the model it starts
// from, where it writes, how it evaluates, and on which data.
struct SweepSetup {
  std::filesystem::path base_model;  // checkpoint the sweep starts from
  std::filesystem::path out_dir;     // results.json, results.csv, figures
  train::EvalOptions eval;
  nlohmann::json data_description;   // part of the result signature
  int workers = 1;                   // points run at a time (see PointRunnerOptions)
  // No point starts that would not finish by then (see PointRunnerOptions).
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// Expected costs in token-forward passes, for ETAs and time limits: training
// a token costs about three (forward, backward of activations and of
// weights), evaluating it one.
inline double evaluation_work(const data::TokenizedDataset& test_set) {
  return static_cast<double>(test_set.total_tokens());
}
// `epochs` of training, each followed by an evaluation.
inline double training_work(const data::TokenizedDataset& train_set, const data::TokenizedDataset& test_set,
                            int64_t epochs) {
  return static_cast<double>(epochs) * (3.0 * static_cast<double>(train_set.total_tokens()) + evaluation_work(test_set));
}

}  // namespace whittle::experiments
