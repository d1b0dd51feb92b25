#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/mixed/fisher.h"
#include "experiments/mixed/quant_targets.h"

namespace whittle::experiments {

// One tensor rounded alone (everything else in float) at one width, on the
// validation set.
struct SensitivityRow {
  QuantTarget target;
  int64_t width = 0;
  int64_t frac_width = 0;
  double loss = 0.0;
  double accuracy = 0.0;
  std::optional<double> fisher;  // the one-pass estimate (see FisherScores)
};

struct SensitivityTable {
  double float_loss = 0.0;
  double float_accuracy = 0.0;
  std::vector<SensitivityRow> rows;  // target order, then width ascending

  double loss_increase(const SensitivityRow& row) const { return row.loss - float_loss; }
  double accuracy_points_lost(const SensitivityRow& row) const { return 100.0 * (float_accuracy - row.accuracy); }
};

// Spearman's rank correlation of two equally long series (ties take their
// mean rank); 0 when either is constant or shorter than 2.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

// How well the one-pass ranking orders the tensors as their measured loss
// increase does: at each width over every tensor, and over every row ("all").
struct RankAgreement {
  std::string scope;  // "w4", ..., "all"; "weights w4": weights and biases only
  int64_t tensors = 0;
  double spearman = 0.0;
  // Of the `top` tensors the measurement finds most sensitive, how many the
  // estimate also puts in its top `top`.
  int64_t top = 0;
  int64_t top_agreeing = 0;
};
std::vector<RankAgreement> compare_rankings(const SensitivityTable& table);

nlohmann::json to_json(const SensitivityTable& table);
nlohmann::json to_json(const std::vector<RankAgreement>& agreements);
// linear,tensor,width,frac_width,loss,accuracy,loss_increase,accuracy_points_lost,fisher,measured_rank,fisher_rank
// (ranks within the width, 1 = most sensitive)
std::string sensitivity_csv(const SensitivityTable& table);

}  // namespace whittle::experiments
