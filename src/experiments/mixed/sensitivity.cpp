#include "experiments/mixed/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

namespace whittle::experiments {
namespace {

// 1-based ranks, largest value first, ties sharing their mean rank.
std::vector<double> descending_ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] > values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = mean_rank;
    i = j + 1;
  }
  return ranks;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const auto n = static_cast<double>(a.size());
  const double mean_a = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mean_b = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double covariance = 0.0, variance_a = 0.0, variance_b = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    covariance += (a[i] - mean_a) * (b[i] - mean_b);
    variance_a += (a[i] - mean_a) * (a[i] - mean_a);
    variance_b += (b[i] - mean_b) * (b[i] - mean_b);
  }
  if (variance_a == 0.0 || variance_b == 0.0) return 0.0;
  return covariance / std::sqrt(variance_a * variance_b);
}

std::vector<const SensitivityRow*> rows_where(const SensitivityTable& table, int64_t width, bool parameters_only) {
  std::vector<const SensitivityRow*> rows;
  for (const auto& row : table.rows) {
    if (row.fisher && (width == 0 || row.width == width) && (!parameters_only || is_parameter(row.target.role))) {
      rows.push_back(&row);
    }
  }
  return rows;
}

RankAgreement agreement(const SensitivityTable& table, const std::vector<const SensitivityRow*>& rows,
                        const std::string& scope) {
  std::vector<double> measured, estimated;
  for (const SensitivityRow* row : rows) {
    measured.push_back(table.loss_increase(*row));
    estimated.push_back(*row->fisher);
  }
  RankAgreement result;
  result.scope = scope;
  result.tensors = static_cast<int64_t>(rows.size());
  result.spearman = spearman(measured, estimated);
  result.top = std::min<int64_t>(5, result.tensors);
  std::vector<double> measured_ranks = descending_ranks(measured), estimated_ranks = descending_ranks(estimated);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (measured_ranks[i] <= static_cast<double>(result.top) && estimated_ranks[i] <= static_cast<double>(result.top)) {
      ++result.top_agreeing;
    }
  }
  return result;
}

std::map<const SensitivityRow*, std::pair<double, double>> ranks_within_width(const SensitivityTable& table) {
  std::map<const SensitivityRow*, std::pair<double, double>> ranks;
  std::set<int64_t> widths;
  for (const auto& row : table.rows) widths.insert(row.width);
  for (int64_t width : widths) {
    std::vector<const SensitivityRow*> rows = rows_where(table, width, false);
    std::vector<double> measured, estimated;
    for (const SensitivityRow* row : rows) {
      measured.push_back(table.loss_increase(*row));
      estimated.push_back(*row->fisher);
    }
    std::vector<double> measured_ranks = descending_ranks(measured), estimated_ranks = descending_ranks(estimated);
    for (size_t i = 0; i < rows.size(); ++i) ranks[rows[i]] = {measured_ranks[i], estimated_ranks[i]};
  }
  return ranks;
}

}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) return 0.0;
  return pearson(descending_ranks(a), descending_ranks(b));
}

std::vector<RankAgreement> compare_rankings(const SensitivityTable& table) {
  std::set<int64_t> widths;
  for (const auto& row : table.rows) widths.insert(row.width);
  std::vector<RankAgreement> agreements;
  for (int64_t width : widths) {
    agreements.push_back(agreement(table, rows_where(table, width, false), "w" + std::to_string(width)));
  }
  for (int64_t width : widths) {
    agreements.push_back(agreement(table, rows_where(table, width, true), "weights and biases w" + std::to_string(width)));
  }
  agreements.push_back(agreement(table, rows_where(table, 0, false), "all"));
  return agreements;
}

nlohmann::json to_json(const SensitivityTable& table) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : table.rows) {
    rows.push_back({{"linear", row.target.linear},
                    {"tensor", to_string(row.target.role)},
                    {"width", row.width},
                    {"frac_width", row.frac_width},
                    {"loss", row.loss},
                    {"accuracy", row.accuracy},
                    {"loss_increase", table.loss_increase(row)},
                    {"accuracy_points_lost", table.accuracy_points_lost(row)},
                    {"fisher", row.fisher ? nlohmann::json(*row.fisher) : nlohmann::json(nullptr)}});
  }
  return {{"float", {{"loss", table.float_loss}, {"accuracy", table.float_accuracy}}}, {"rows", rows}};
}

nlohmann::json to_json(const std::vector<RankAgreement>& agreements) {
  nlohmann::json json = nlohmann::json::array();
  for (const auto& a : agreements) {
    json.push_back({{"scope", a.scope}, {"tensors", a.tensors}, {"spearman", a.spearman}, {"top", a.top},
                    {"top_agreeing", a.top_agreeing}});
  }
  return json;
}

std::string sensitivity_csv(const SensitivityTable& table) {
  auto ranks = ranks_within_width(table);
  std::ostringstream csv;
  csv.precision(8);
  csv << "linear,tensor,width,frac_width,loss,accuracy,loss_increase,accuracy_points_lost,fisher,measured_rank,"
         "fisher_rank\n";
  for (const auto& row : table.rows) {
    csv << row.target.linear << "," << to_string(row.target.role) << "," << row.width << "," << row.frac_width << ","
        << row.loss << "," << row.accuracy << "," << table.loss_increase(row) << ","
        << table.accuracy_points_lost(row) << ",";
    if (row.fisher) csv << *row.fisher;
    csv << ",";
    auto found = ranks.find(&row);
    if (found != ranks.end()) csv << found->second.first << "," << found->second.second;
    else csv << ",";
    csv << "\n";
  }
  return csv.str();
}

}  // namespace whittle::experiments
