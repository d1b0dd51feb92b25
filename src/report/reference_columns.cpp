#include "report/reference_columns.h"

#include <cmath>
#include <cstdio>
#include <map>

namespace whittle::report {
namespace {

bool same_sparsity(double a, double b) { return std::abs(a - b) < 1e-9; }

bool same_key(const ResultKey& a, const ResultKey& b) {
  return a.measure == b.measure && a.width == b.width && a.method == b.method && same_sparsity(a.sparsity, b.sparsity);
}

const PruneRow* prune_row(const LabReport& report, const ResultKey& key) {
  for (const auto& row : report.pruning) {
    if (row.method == key.method && same_sparsity(row.sparsity, key.sparsity)) return &row;
  }
  return nullptr;
}

const QuantRow* quant_row(const LabReport& report, int64_t width) {
  for (const auto& row : report.quantization) {
    if (row.width == width) return &row;
  }
  return nullptr;
}

}  // namespace

ResultKey key_of(const ReferenceNumber& number) {
  return {number.measure, number.width, number.method, number.sparsity};
}

std::string result_label(const ResultKey& key) {
  std::string pruned = "pruned, " + method_display_name(key.method) + ", sparsity " + sparsity_text(key.sparsity);
  switch (key.measure) {
    case ReferenceMeasure::lora_fused:
      return "float32, LoRA fine-tuned and fused";
    case ReferenceMeasure::before_quantization:
      return "float32, before quantization";
    case ReferenceMeasure::ptq:
      return "PTQ, " + std::to_string(key.width) + " bits";
    case ReferenceMeasure::qat:
      return "QAT, " + std::to_string(key.width) + " bits";
    case ReferenceMeasure::after_pruning:
      return pruned + ", right after pruning";
    case ReferenceMeasure::pruned_best:
      return pruned + ", highest during fine-tuning";
    case ReferenceMeasure::pruned_final:
      return pruned + ", after the last fine-tuning epoch";
  }
  return "?";
}

std::optional<double> whittle_result(const LabReport& report, const ResultKey& key) {
  switch (key.measure) {
    case ReferenceMeasure::lora_fused:
      return report.lora ? std::optional<double>(report.lora->accuracy_after) : std::nullopt;
    case ReferenceMeasure::before_quantization:
      return report.baseline_accuracy;
    case ReferenceMeasure::ptq:
    case ReferenceMeasure::qat: {
      const QuantRow* row = quant_row(report, key.width);
      if (row == nullptr) return std::nullopt;
      return key.measure == ReferenceMeasure::ptq ? row->ptq_accuracy : row->qat_accuracy;
    }
    case ReferenceMeasure::after_pruning:
    case ReferenceMeasure::pruned_best:
    case ReferenceMeasure::pruned_final: {
      const PruneRow* row = prune_row(report, key);
      if (row == nullptr) return std::nullopt;
      if (key.measure == ReferenceMeasure::after_pruning) return row->accuracy_after_pruning;
      return key.measure == ReferenceMeasure::pruned_best ? row->best_accuracy : row->final_accuracy;
    }
  }
  return std::nullopt;
}

const ReferenceNumber* find_number(const ReferenceResults& reference, const ResultKey& key) {
  for (const auto& number : reference.numbers) {
    if (same_key(key_of(number), key)) return &number;
  }
  return nullptr;
}

std::string reference_text(const ReferenceNumber* number) {
  if (number == nullptr) return "—";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.5f", number->accuracy);
  std::string text = buffer;
  while (text.size() > 3 && text.back() == '0' && text[text.size() - 2] != '.') text.pop_back();
  return text;
}

bool has_measure(const ReferenceResults& reference, ReferenceMeasure measure) {
  for (const auto& number : reference.numbers) {
    if (number.measure == measure) return true;
  }
  return false;
}

BulletList reference_sources(const std::vector<ReferenceResults>& references) {
  BulletList list;
  for (const auto& reference : references) {
    // Grouped by file, in the order the numbers are listed.
    std::vector<std::string> files;
    std::map<std::string, std::string> numbers_by_file;
    for (const auto& number : reference.numbers) {
      std::string& listed = numbers_by_file[number.source];
      if (listed.empty()) files.push_back(number.source);
      listed += (listed.empty() ? "" : "; ") + result_label(key_of(number)) + " " + reference_text(&number);
    }
    std::string text = reference.name + ": " + reference.setting + ".";
    for (const auto& file : files) text += " From " + file + ": " + numbers_by_file[file] + ".";
    list.items.push_back(text);
  }
  return list;
}

}  // namespace whittle::report
