#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "data/tokenized.h"
#include "experiments/point_runner.h"
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
  // Several processes may run one sweep (see PointRunnerOptions): this one's
  // place among them, and whether it waits for every point to be stored.
  ProcessPlace shard;
  bool wait_for_others = false;
};

// How a sweep runs its points. A sweep in one process redraws its outputs
// after every point; processes that share it leave that to the end, when
// one of them draws them once.
inline PointRunnerOptions point_runner_options(const SweepSetup& setup, std::function<void()> redraw) {
  PointRunnerOptions options;
  options.workers = setup.workers;
  if (setup.shard.count == 1) options.after_each = std::move(redraw);
  options.deadline = setup.deadline;
  options.shard = setup.shard;
  options.wait_for_others = setup.wait_for_others;
  return options;
}

// What a process of a shared sweep tells when it stops before every point is
// in: the others run the rest, and the last to finish writes the outputs.
inline std::string left_to_other_processes(const std::vector<std::string>& missing) {
  return std::to_string(missing.size()) + " point" + (missing.size() == 1 ? " is" : "s are") +
         " claimed by other processes, which store them and write the outputs; this process's share is done\n";
}

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
