#include "report/sweep_records.h"

#include <cstdio>

#include "util/error.h"

namespace whittle::report {
namespace {

using nlohmann::json;

Error malformed(const std::string& key, const std::string& problem) {
  return Error("sweep results: point \"" + key + "\" " + problem);
}

const json& member(const json& value, const char* name, const std::string& key) {
  if (!value.is_object() || !value.contains(name)) throw malformed(key, std::string("has no \"") + name + "\"");
  return value.at(name);
}

template <typename T>
T field(const json& value, const char* name, const std::string& key) {
  try {
    return member(value, name, key).get<T>();
  } catch (const json::exception&) {
    throw malformed(key, std::string("has a malformed \"") + name + "\"");
  }
}

std::optional<json> optional_member(const json& value, const char* name) {
  if (!value.contains(name)) return std::nullopt;
  return value.at(name);
}

// Reads a record that the JSON macros define, first checking that every
// field is there with the kind of value the record's defaults have, so that
// an error names the point and the field.
void check_fields(const json& expected, const json& value, const std::string& key) {
  for (const auto& [name, example] : expected.items()) {
    const json& actual = member(value, name.c_str(), key);
    if (example.is_object()) {
      check_fields(example, actual, key + " " + name);
    } else if (example.is_number() ? !actual.is_number() : actual.type() != example.type()) {
      throw malformed(key, "has a malformed \"" + name + "\"");
    }
  }
}

template <typename Record>
Record record_from_json(const json& value, const std::string& key) {
  check_fields(json(Record{}), value, key);
  return value.get<Record>();
}

std::vector<EpochRecord> epochs_from_json(const json& value, const std::string& key) {
  const json& epochs = member(value, "epochs", key);
  if (!epochs.is_array()) throw malformed(key, "has a malformed \"epochs\"");
  std::vector<EpochRecord> records;
  for (const auto& epoch : epochs) {
    records.push_back(record_from_json<EpochRecord>(epoch, key + " epoch " + std::to_string(records.size() + 1)));
  }
  return records;
}

}  // namespace

std::optional<double> PrunePoint::final_accuracy() const {
  if (epochs.empty()) return std::nullopt;
  return epochs.back().test.accuracy;
}

std::string to_string(QuantMode mode) { return mode == QuantMode::ptq ? "ptq" : "qat"; }

std::string quant_point_key(QuantMode mode, int64_t width) { return to_string(mode) + "/w" + std::to_string(width); }

std::string prune_point_key(const std::string& method, double sparsity) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s/s%.2f", method.c_str(), sparsity);
  return buffer;
}

std::string key_of(const QuantPoint& point) { return quant_point_key(point.mode, point.width); }

std::string key_of(const PrunePoint& point) { return prune_point_key(point.method, point.sparsity); }

void to_json(json& out, const BaselinePoint& point) {
  out = point.test;  // the evaluation's fields at the top level, as the first result files had them
  if (point.size) out["size"] = *point.size;
}

void to_json(json& out, const QuantPoint& point) {
  out = {{"mode", to_string(point.mode)},
         {"width", point.width},
         {"frac_width", point.frac_width},
         {"accuracy", point.accuracy}};
  if (point.test) out["test"] = *point.test;
  if (point.mode == QuantMode::qat) {
    out["epochs"] = point.epochs;
    out["best_epoch"] = point.best_epoch;
    out["model"] = point.model;
  }
  if (point.earlier_accuracy) out["earlier_accuracy"] = *point.earlier_accuracy;
  if (point.size) out["size"] = *point.size;
}

void to_json(json& out, const PrunePoint& point) {
  out = {{"method", point.method},
         {"sparsity", point.sparsity},
         {"measured_weight_sparsity", point.measured_weight_sparsity},
         {"layers", point.layers},
         {"after_pruning", point.after_pruning},
         {"epochs", point.epochs},
         {"best_epoch", point.best_epoch},
         {"accuracy", point.accuracy}};
  if (point.size) out["size"] = *point.size;
}

Evaluation evaluation_from_json(const json& value, const std::string& key) {
  return record_from_json<Evaluation>(value, key);
}

BaselinePoint baseline_from_json(const json& value, const std::string& key) {
  return {evaluation_from_json(value, key), optional_member(value, "size")};
}

QuantPoint quant_point_from_json(const json& value, const std::string& key) {
  QuantPoint point;
  if (value.contains("mode")) {
    std::string mode = field<std::string>(value, "mode", key);
    if (mode != "ptq" && mode != "qat") throw malformed(key, "has an unknown \"mode\" \"" + mode + "\"");
    point.mode = mode == "ptq" ? QuantMode::ptq : QuantMode::qat;
  } else {
    // Records written before "mode": a QAT point is the one that trained.
    point.mode = value.contains("epochs") ? QuantMode::qat : QuantMode::ptq;
  }
  point.width = field<int64_t>(value, "width", key);
  point.frac_width = field<int64_t>(value, "frac_width", key);
  point.accuracy = field<double>(value, "accuracy", key);
  if (value.contains("test")) point.test = evaluation_from_json(value.at("test"), key + " test");
  if (point.mode == QuantMode::qat) {
    point.epochs = epochs_from_json(value, key);
    point.best_epoch = field<int64_t>(value, "best_epoch", key);
    point.model = field<std::string>(value, "model", key);
  }
  if (value.contains("earlier_accuracy")) point.earlier_accuracy = field<double>(value, "earlier_accuracy", key);
  point.size = optional_member(value, "size");
  return point;
}

PrunePoint prune_point_from_json(const json& value, const std::string& key) {
  PrunePoint point;
  point.method = field<std::string>(value, "method", key);
  point.sparsity = field<double>(value, "sparsity", key);
  point.measured_weight_sparsity = field<double>(value, "measured_weight_sparsity", key);
  point.layers = value.value("layers", json::array());
  point.after_pruning = evaluation_from_json(member(value, "after_pruning", key), key + " after_pruning");
  point.epochs = epochs_from_json(value, key);
  point.best_epoch = field<int64_t>(value, "best_epoch", key);
  point.accuracy = field<double>(value, "accuracy", key);
  point.size = optional_member(value, "size");
  return point;
}

ModelBits model_bits(const json& size, const std::string& key) {
  return {field<int64_t>(size, "linear_bits", key + " size"), field<int64_t>(size, "total_bits", key + " size")};
}

}  // namespace whittle::report
