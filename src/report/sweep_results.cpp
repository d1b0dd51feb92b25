#include "report/sweep_results.h"

#include <map>

#include "util/error.h"

namespace whittle::report {
namespace {

const nlohmann::json& points_of(const nlohmann::json& document) {
  if (!document.is_object() || !document.contains("points") || !document.at("points").is_array()) {
    throw Error("sweep results: no \"points\" array (not a file a sweep wrote?)");
  }
  return document.at("points");
}

template <typename T>
T field(const nlohmann::json& value, const char* name, const std::string& key) {
  if (!value.is_object() || !value.contains(name)) {
    throw Error("sweep results: point \"" + key + "\" has no \"" + name + "\"");
  }
  try {
    return value.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error("sweep results: point \"" + key + "\" has a malformed \"" + name + "\"");
  }
}

std::optional<ModelBits> size_of(const nlohmann::json& value, const std::string& key) {
  if (!value.contains("size")) return std::nullopt;
  const nlohmann::json& size = value.at("size");
  return ModelBits{field<int64_t>(size, "linear_bits", key + " size"), field<int64_t>(size, "total_bits", key + " size")};
}

// The "baseline" point, the model a sweep starts from, fills the rows'
// baseline; any other point is left to the caller.
template <typename SweepRows>
bool take_baseline(const std::string& key, const nlohmann::json& value, SweepRows& rows) {
  if (key != "baseline") return false;
  rows.baseline_accuracy = field<double>(value, "accuracy", key);
  rows.baseline_size = size_of(value, key);
  return true;
}

// The test accuracy after the last fine-tuning epoch; a point trained for no
// epoch has none.
std::optional<double> final_epoch_accuracy(const nlohmann::json& value, const std::string& key) {
  if (!value.contains("epochs")) return std::nullopt;
  const nlohmann::json& epochs = value.at("epochs");
  if (!epochs.is_array()) throw Error("sweep results: point \"" + key + "\" has a malformed \"epochs\"");
  if (epochs.empty()) return std::nullopt;
  return field<double>(field<nlohmann::json>(epochs.back(), "test", key + " epochs"), "accuracy", key + " epochs test");
}

}  // namespace

QuantSweepRows quant_rows_from_results(const nlohmann::json& document) {
  QuantSweepRows result;
  std::map<int64_t, QuantRow> by_width;
  for (const auto& point : points_of(document)) {
    std::string key = field<std::string>(point, "key", "?");
    const nlohmann::json& value = point.at("value");
    if (take_baseline(key, value, result)) continue;
    bool ptq = key.starts_with("ptq/");
    if (!ptq && !key.starts_with("qat/")) throw Error("sweep results: unknown quantization point \"" + key + "\"");
    int64_t width = field<int64_t>(value, "width", key);
    QuantRow& row = by_width[width];
    row.width = width;
    row.frac_width = field<int64_t>(value, "frac_width", key);
    (ptq ? row.ptq_accuracy : row.qat_accuracy) = field<double>(value, "accuracy", key);
    if (auto size = size_of(value, key); size && (ptq || !row.size)) row.size = size;
  }
  for (auto& [width, row] : by_width) result.rows.push_back(row);
  return result;
}

PruneSweepRows prune_rows_from_results(const nlohmann::json& document) {
  PruneSweepRows result;
  for (const auto& point : points_of(document)) {
    std::string key = field<std::string>(point, "key", "?");
    const nlohmann::json& value = point.at("value");
    if (take_baseline(key, value, result)) continue;
    PruneRow row;
    row.method = field<std::string>(value, "method", key);
    row.sparsity = field<double>(value, "sparsity", key);
    row.accuracy_after_pruning = field<double>(field<nlohmann::json>(value, "after_pruning", key), "accuracy",
                                               key + " after_pruning");
    row.best_accuracy = field<double>(value, "accuracy", key);
    row.final_accuracy = final_epoch_accuracy(value, key);
    row.measured_sparsity = field<double>(value, "measured_weight_sparsity", key);
    row.size = size_of(value, key);
    result.rows.push_back(std::move(row));
  }
  return result;
}

}  // namespace whittle::report
