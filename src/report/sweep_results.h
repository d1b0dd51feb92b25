#pragma once
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/lab_results.h"

namespace whittle::report {

// Rows of the lab report from the result files the sweeps write
// (experiments::ResultStore: {"signature": ..., "points": [{"key", "value"}]}).
// A point's optional "size" object ({"linear_bits", "total_bits", ...}, as
// experiments::to_json(ModelSize) writes it) becomes the row's size; for a
// width, the PTQ point's size is used, else the QAT point's.

struct QuantSweepRows {
  std::optional<double> baseline_accuracy;
  std::optional<ModelBits> baseline_size;
  std::vector<QuantRow> rows;  // by width, ascending
};

struct PruneSweepRows {
  std::optional<double> baseline_accuracy;  // the unpruned model the sweep starts from
  std::optional<ModelBits> baseline_size;
  std::vector<PruneRow> rows;  // in the order recorded
};

// Keys "baseline", "ptq/w<W>", "qat/w<W>". Throws whittle::Error naming the
// key when a point lacks a field the rows need.
QuantSweepRows quant_rows_from_results(const nlohmann::json& document);
// Keys "baseline" and "<method>/s<sparsity>".
PruneSweepRows prune_rows_from_results(const nlohmann::json& document);

}  // namespace whittle::report
