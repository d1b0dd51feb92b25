#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/lab_results.h"

namespace whittle::report {

// What the sweeps store for each point, in one place: the sweeps
// (experiments/) build these records and write them with to_json, and
// everything that reads a result file goes through from_json. The JSON
// field names are the result files' (a point's key stays what a person
// reads; nothing is parsed back out of it).

// One pass over the test split.
struct Evaluation {
  double accuracy = 0.0;
  double loss = 0.0;
  int64_t examples = 0;
  double seconds = 0.0;
  double tokens_per_second = 0.0;
};

// One fine-tuning epoch and the evaluation after it.
struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = 0.0;
  double train_seconds = 0.0;
  double train_tokens_per_second = 0.0;
  Evaluation test;
};

// The model a sweep starts from ("baseline"): its evaluation, and its size
// (none in records older than size measurement).
struct BaselinePoint {
  Evaluation test;
  std::optional<nlohmann::json> size;  // experiments::to_json(ModelSize)
};

enum class QuantMode { ptq, qat };

// One width of the quantization sweep, after PTQ or after QAT.
struct QuantPoint {
  QuantMode mode = QuantMode::ptq;
  int64_t width = 0;
  int64_t frac_width = 0;
  double accuracy = 0.0;               // PTQ: its evaluation; QAT: the best epoch's
  std::optional<Evaluation> test;      // PTQ
  std::vector<EpochRecord> epochs;     // QAT
  int64_t best_epoch = 0;              // QAT
  std::string model;                   // QAT: the saved model, relative to the sweep directory
  std::optional<double> earlier_accuracy;  // QAT retrained where its model was missing: the first run's
  std::optional<nlohmann::json> size;
};

// One method and sparsity of the pruning sweep.
struct PrunePoint {
  std::string method;  // "random", "l1-norm"
  double sparsity = 0.0;
  double measured_weight_sparsity = 0.0;
  nlohmann::json layers;  // the prune pass's per-layer report
  Evaluation after_pruning;
  std::vector<EpochRecord> epochs;
  int64_t best_epoch = 0;
  double accuracy = 0.0;  // the highest of after pruning and every epoch
  std::optional<nlohmann::json> size;

  // After the last epoch; none when no epoch ran.
  std::optional<double> final_accuracy() const;
};

std::string to_string(QuantMode mode);
// The keys the sweeps store points under: "baseline", "ptq/w8", "random/s0.50".
inline constexpr const char* kBaselineKey = "baseline";
std::string quant_point_key(QuantMode mode, int64_t width);
std::string prune_point_key(const std::string& method, double sparsity);
std::string key_of(const QuantPoint& point);
std::string key_of(const PrunePoint& point);

// The field names are the JSON keys.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Evaluation, accuracy, loss, examples, seconds, tokens_per_second)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EpochRecord, epoch, train_loss, train_seconds, train_tokens_per_second, test)
void to_json(nlohmann::json& json, const BaselinePoint& point);
void to_json(nlohmann::json& json, const QuantPoint& point);
void to_json(nlohmann::json& json, const PrunePoint& point);

// Each throws whittle::Error naming `key` and the field when `value` is not
// such a record.
Evaluation evaluation_from_json(const nlohmann::json& value, const std::string& key);
BaselinePoint baseline_from_json(const nlohmann::json& value, const std::string& key);
QuantPoint quant_point_from_json(const nlohmann::json& value, const std::string& key);
PrunePoint prune_point_from_json(const nlohmann::json& value, const std::string& key);

// The storage a size record gives, for the report's size columns.
ModelBits model_bits(const nlohmann::json& size, const std::string& key);

}  // namespace whittle::report
