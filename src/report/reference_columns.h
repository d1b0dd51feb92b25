#pragma once
#include <optional>
#include <string>
#include <vector>

#include "report/document.h"
#include "report/lab_results.h"

namespace whittle::report {

// Identifies one measured result: what it measures and at which width or
// pruning point. Published numbers and whittle's rows meet on it.
struct ResultKey {
  ReferenceMeasure measure = ReferenceMeasure::lora_fused;
  int64_t width = 0;
  std::string method;
  double sparsity = 0.0;
};

ResultKey key_of(const ReferenceNumber& number);

// The row label of a result, e.g. "QAT, 8 bits" or
// "pruned, L1-norm, sparsity 0.50, highest during fine-tuning".
std::string result_label(const ResultKey& key);

// whittle's own value for the key, from the report's rows.
std::optional<double> whittle_result(const LabReport& report, const ResultKey& key);

// The reference's number for the key, if it published one.
const ReferenceNumber* find_number(const ReferenceResults& reference, const ResultKey& key);

// A published accuracy as printed (up to five decimals, no trailing zeros).
std::string reference_text(const ReferenceNumber* number);

// Whether the reference published any number of this measure.
bool has_measure(const ReferenceResults& reference, ReferenceMeasure measure);

// What each reference measured, and every number with the file it comes from.
BulletList reference_sources(const std::vector<ReferenceResults>& references);

}  // namespace whittle::report
