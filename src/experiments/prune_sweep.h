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

// The lab's points: sparsity 0.1 to 0.9, random against L1-norm.
std::vector<double> default_sparsities();
std::vector<std::string> default_prune_methods();
// Each throws whittle::Error unless the list has an entry, and each entry
// is a sparsity in [0, 1) or a known method.
void validate_sparsities(const std::vector<double>& sparsities);
void validate_prune_methods(const std::vector<std::string>& methods);

// base_model is the best QAT model of the quantization sweep.
struct PruneSweepOptions : SweepSetup {
  PruneSweepOptions() = default;
  explicit PruneSweepOptions(SweepSetup setup) : SweepSetup(std::move(setup)) {}
  std::vector<double> sparsities = default_sparsities();
  std::vector<std::string> methods = default_prune_methods();
  bool prune_activations = true;     // as Mase's lab: the same settings for weights and inputs
  train::TrainOptions finetune;      // Mase's defaults: AdamW 5e-5, batch 8, 1 epoch
};

// For each method and sparsity: prune every Linear (local scope), evaluate,
// fine-tune with the masks fixed and evaluate after each epoch. Recorded
// point by point in out_dir/results.json, so a killed sweep resumes.
// Returns how many points other processes sharing the sweep had claimed but
// not stored when this one stopped (0: the sweep is complete).
int64_t run_prune_sweep(const PruneSweepOptions& options, const data::TokenizedDataset& train_set,
                     const data::TokenizedDataset& test_set, std::ostream& log);

// Redraws the CSV and the figure from out_dir/results.json.
void write_prune_sweep_outputs(const std::filesystem::path& out_dir);

}  // namespace whittle::experiments
