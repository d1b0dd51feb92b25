#pragma once
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/mixed/mixed_config.h"
#include "experiments/mixed/mixed_finish.h"
#include "experiments/mixed/sensitivity.h"
#include "experiments/mixed/width_search.h"
#include "passes/quantize/quantize_config.h"

namespace whittle::experiments {

struct UniformPoint {
  UniformRule rule = UniformRule::half;
  int64_t width = 0;
  MeasuredConfig measured;
};

// Everything the search's output files show.
struct MixedReport {
  SensitivityTable sensitivity;
  std::vector<RankAgreement> rank_agreement;
  std::vector<UniformPoint> uniform;
  std::vector<MeasuredConfig> configs;  // every mixed configuration measured
  FinishedModels finished;
  double budget_points = 0.0;
  double float_accuracy = 0.0;  // validation
  nlohmann::json summary;
  passes::QuantizeConfig chosen_config;
};

// The configurations no other beats: fewer or as many bits and higher
// accuracy. Ordered by bits, accuracy rising.
std::vector<MeasuredConfig> pareto_front(std::vector<MeasuredConfig> configs);

// Writes into out_dir:
//   summary.json                    the chosen configuration, its bits and accuracies, the test table
//   mixed-config.toml / .json       the chosen widths as Mase's by-name quantize config
//   sensitivity.csv / .json         the per-tensor table and how the one-pass ranking agrees with it
//   pareto.csv / .json              the mixed front and the uniform widths: bits against validation accuracy
//   pareto.png / .svg / .gp         the same as a figure
void write_mixed_outputs(const MixedReport& report, const std::filesystem::path& out_dir);

}  // namespace whittle::experiments
