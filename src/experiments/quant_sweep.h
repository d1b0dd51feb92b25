#pragma once
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <utility>
#include <vector>

#include "data/tokenized.h"
#include "experiments/sweep_setup.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace whittle::experiments {

// Every even width up to 16, where accuracy changes, then 20 to 32.
std::vector<int64_t> default_quant_widths();
// Throws whittle::Error unless there is at least one width and each, with
// `frac_width` (default width / 2), is a valid fixed-point format.
void validate_quant_widths(const std::vector<int64_t>& widths, std::optional<int64_t> frac_width);

// out_dir also gets models/ (each QAT model and best-qat).
struct QuantSweepOptions : SweepSetup {
  QuantSweepOptions() = default;
  explicit QuantSweepOptions(SweepSetup setup) : SweepSetup(std::move(setup)) {}
  std::filesystem::path tokenizer_dir;  // copied into saved models
  std::vector<int64_t> widths = default_quant_widths();
  std::optional<int64_t> frac_width;    // default: width / 2
  bool run_qat = true;
  train::TrainOptions qat;              // Mase's defaults: AdamW 5e-5, batch 8, 1 epoch
};

struct QuantSweepSummary {
  double baseline_accuracy = 0.0;
  int64_t best_qat_width = 0;
  double best_qat_accuracy = 0.0;
  std::filesystem::path best_qat_model;  // out_dir/models/best-qat
  // Points that other processes sharing the sweep had claimed but not stored
  // when this one stopped; the rest of the summary is empty unless this is 0.
  int64_t points_left_to_others = 0;
};
nlohmann::json to_json(const QuantSweepSummary& summary);

// For each width: PTQ (quantize every Linear, evaluate), then QAT (fine-tune
// with quantization in the loop, evaluate after each epoch). Results are
// recorded point by point in out_dir/results.json, so a killed sweep resumes
// where it stopped; the figure and CSV are redrawn after every point, or,
// when several processes share the sweep, once at the end.
QuantSweepSummary run_quant_sweep(const QuantSweepOptions& options, const data::TokenizedDataset& train_set,
                                  const data::TokenizedDataset& test_set, std::ostream& log);

// Redraws the CSV and the figure from out_dir/results.json.
void write_quant_sweep_outputs(const std::filesystem::path& out_dir);

}  // namespace whittle::experiments
