#pragma once
#include <filesystem>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "data/tokenized.h"
#include "experiments/sweep_setup.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace whittle::experiments {

// base_model is the best QAT model of the quantization sweep.
struct PruneSweepOptions : SweepSetup {
  PruneSweepOptions() = default;
  explicit PruneSweepOptions(SweepSetup setup) : SweepSetup(std::move(setup)) {}
  std::vector<double> sparsities = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  std::vector<std::string> methods = {"random", "l1-norm"};
  bool prune_activations = true;     // as Mase's lab: the same settings for weights and inputs
  train::TrainOptions finetune;      // Mase's defaults: AdamW 5e-5, batch 8, 1 epoch
};

// For each method and sparsity: prune every Linear (local scope), evaluate,
// fine-tune with the masks fixed and evaluate after each epoch. Recorded
// point by point in out_dir/results.json, so a killed sweep resumes.
void run_prune_sweep(const PruneSweepOptions& options, const data::TokenizedDataset& train_set,
                     const data::TokenizedDataset& test_set, std::ostream& log);

// Redraws the CSV and the figure from out_dir/results.json.
void write_prune_sweep_outputs(const std::filesystem::path& out_dir);

}  // namespace whittle::experiments
