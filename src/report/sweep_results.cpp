#include "report/sweep_results.h"

#include <map>

#include "report/sweep_records.h"
#include "util/error.h"

namespace whittle::report {
namespace {

const nlohmann::json& points_of(const nlohmann::json& document) {
  if (!document.is_object() || !document.contains("points") || !document.at("points").is_array()) {
    throw Error("sweep results: no \"points\" array (not a file a sweep wrote?)");
  }
  return document.at("points");
}

std::string key_of_entry(const nlohmann::json& point) {
  if (!point.is_object() || !point.contains("key") || !point.at("key").is_string() || !point.contains("value")) {
    throw Error("sweep results: a point without a \"key\" string and a \"value\"");
  }
  return point.at("key").get<std::string>();
}

std::optional<ModelBits> bits_of(const std::optional<nlohmann::json>& size, const std::string& key) {
  if (!size) return std::nullopt;
  return model_bits(*size, key);
}

// The "baseline" point, the model a sweep starts from, fills the rows'
// baseline; any other point is left to the caller.
template <typename SweepRows>
bool take_baseline(const std::string& key, const nlohmann::json& value, SweepRows& rows) {
  if (key != kBaselineKey) return false;
  BaselinePoint baseline = baseline_from_json(value, key);
  rows.baseline_accuracy = baseline.test.accuracy;
  rows.baseline_size = bits_of(baseline.size, key);
  return true;
}

}  // namespace

QuantSweepRows quant_rows_from_results(const nlohmann::json& document) {
  QuantSweepRows result;
  std::map<int64_t, QuantRow> by_width;
  for (const auto& entry : points_of(document)) {
    std::string key = key_of_entry(entry);
    if (take_baseline(key, entry.at("value"), result)) continue;
    QuantPoint point = quant_point_from_json(entry.at("value"), key);
    bool ptq = point.mode == QuantMode::ptq;
    QuantRow& row = by_width[point.width];
    row.width = point.width;
    row.frac_width = point.frac_width;
    (ptq ? row.ptq_accuracy : row.qat_accuracy) = point.accuracy;
    if (auto size = bits_of(point.size, key); size && (ptq || !row.size)) row.size = size;
  }
  for (auto& [width, row] : by_width) result.rows.push_back(row);
  return result;
}

PruneSweepRows prune_rows_from_results(const nlohmann::json& document) {
  PruneSweepRows result;
  for (const auto& entry : points_of(document)) {
    std::string key = key_of_entry(entry);
    if (take_baseline(key, entry.at("value"), result)) continue;
    PrunePoint point = prune_point_from_json(entry.at("value"), key);
    PruneRow row;
    row.method = point.method;
    row.sparsity = point.sparsity;
    row.accuracy_after_pruning = point.after_pruning.accuracy;
    row.best_accuracy = point.accuracy;
    row.final_accuracy = point.final_accuracy();
    row.measured_sparsity = point.measured_weight_sparsity;
    row.size = bits_of(point.size, key);
    result.rows.push_back(std::move(row));
  }
  return result;
}

}  // namespace whittle::report
