#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

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
};

}  // namespace whittle::experiments
