#pragma once
#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/tokenized.h"
#include "experiments/mixed/quant_targets.h"
#include "model/bert.h"
#include "train/evaluate.h"

namespace whittle::experiments {

// The frac widths a tensor may take at a width: an input's range must hold
// its integer part (0 to width fractional bits); a weight's or bias's may
// sit anywhere from whole numbers down to far below 1.
struct FracRange {
  int64_t lowest = 0;
  int64_t highest = 0;
};
FracRange frac_range(TensorRole role, int64_t width);

// The frac width in `range` whose quantization of `values` at `width` bits has
// the least squared error; of equal errors, the smallest frac (the widest
// range). Rounding to zero is what ruins low widths with width/2 frac bits:
// BERT's weights are mostly below 2^-3, so 4 bits with 2 of them round
// almost all of them to 0, where 5 or 6 keep them.
int64_t least_error_frac(const torch::Tensor& values, int64_t width, FracRange range);

// For every target key and width, its frac width.
using FracTable = std::map<std::string, std::map<int64_t, int64_t>>;

// Weights and biases from the tensors themselves; inputs from the inputs the
// float model computes on `calibration` (each Linear's input sums up its
// squared error for every candidate format as the set runs through).
FracTable choose_fracs(model::BertForSequenceClassification& model, const std::vector<int64_t>& widths,
                       const data::TokenizedDataset& calibration, const train::EvalOptions& eval);

nlohmann::json to_json(const FracTable& table);
FracTable frac_table_from_json(const nlohmann::json& json);

}  // namespace whittle::experiments
