#include "experiments/mixed/mixed_outputs.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "report/plot.h"
#include "util/atomic_file.h"

namespace whittle::experiments {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string uniform_label(const UniformPoint& point) {
  return "uniform, frac " + std::string(point.rule == UniformRule::half ? "width/2" : "calibrated");
}

json config_row(const MeasuredConfig& config) {
  return {{"average_bits", config.bits.average()},
          {"linear_bits", config.bits.bits},
          {"validation_accuracy", config.accuracy},
          {"validation_loss", config.loss},
          {"digest", formats_digest(config.formats)}};
}

void write_pareto_tables(const MixedReport& report, const std::vector<MeasuredConfig>& front, const fs::path& out_dir) {
  std::ostringstream csv;
  csv << std::setprecision(8);
  csv << "series,width,average_bits,linear_bits,validation_accuracy,validation_loss\n";
  json front_json = json::array(), uniform_json = json::array();
  for (const MeasuredConfig& config : front) {
    csv << "mixed,," << config.bits.average() << "," << config.bits.bits << "," << config.accuracy << ","
        << config.loss << "\n";
    json row = config_row(config);
    row["formats"] = to_json(config.formats);
    front_json.push_back(row);
  }
  for (const UniformPoint& point : report.uniform) {
    csv << "uniform " << to_string(point.rule) << "," << point.width << "," << point.measured.bits.average() << ","
        << point.measured.bits.bits << "," << point.measured.accuracy << "," << point.measured.loss << "\n";
    json row = config_row(point.measured);
    row["rule"] = to_string(point.rule);
    row["width"] = point.width;
    uniform_json.push_back(row);
  }
  json chosen = config_row(report.finished.chosen);
  if (report.finished.qat_validation_accuracy) chosen["qat_validation_accuracy"] = *report.finished.qat_validation_accuracy;
  json pareto = {{"float_validation_accuracy", report.float_accuracy},
                 {"budget_points", report.budget_points},
                 {"configurations_measured", report.configs.size()},
                 {"front", front_json},
                 {"uniform", uniform_json},
                 {"chosen", chosen}};
  write_file_atomically(out_dir / "pareto.csv", csv.str());
  write_file_atomically(out_dir / "pareto.json", pareto.dump(2) + "\n");
}

void draw_pareto(const MixedReport& report, const std::vector<MeasuredConfig>& front, const fs::path& out_dir) {
  report::LinePlot plot{"Mixed precision against uniform widths (BERT Linear layers, validation set)",
                        "average bits per Linear parameter (weights and biases)", "validation accuracy", {}, {}, {}};
  report::Series mixed{"mixed widths, Pareto front", {}};
  for (const MeasuredConfig& config : front) mixed.points.emplace_back(config.bits.average(), config.accuracy);
  plot.series.push_back(mixed);
  for (UniformRule rule : {UniformRule::half, UniformRule::calibrated}) {
    report::Series series{"", {}, {}};
    for (const UniformPoint& point : report.uniform) {
      if (point.rule != rule) continue;
      series.name = uniform_label(point);
      series.points.emplace_back(point.measured.bits.average(), point.measured.accuracy);
      series.labels.push_back("w" + std::to_string(point.width));
    }
    if (!series.points.empty()) plot.series.push_back(series);
  }
  report::Series chosen{"chosen (PTQ)", {{report.finished.chosen.bits.average(), report.finished.chosen.accuracy}}};
  plot.series.push_back(chosen);
  if (report.finished.qat_validation_accuracy) {
    plot.series.push_back(
        {"chosen + QAT", {{report.finished.chosen.bits.average(), *report.finished.qat_validation_accuracy}}});
  }
  plot.references.push_back({"float32", report.float_accuracy});
  plot.references.push_back({"budget (float - " + std::to_string(report.budget_points).substr(0, 4) + " points)",
                             report.float_accuracy - report.budget_points / 100.0});
  // Narrow widths fall to chance; the range keeps the budget's neighbourhood readable.
  const double span = std::max(0.03, 4.0 * report.budget_points / 100.0);
  plot.y_range = std::make_pair(report.float_accuracy - span, report.float_accuracy + span / 4.0);
  report::draw(plot, out_dir / "pareto");
}

}  // namespace

std::vector<MeasuredConfig> pareto_front(std::vector<MeasuredConfig> configs) {
  std::sort(configs.begin(), configs.end(), [](const MeasuredConfig& a, const MeasuredConfig& b) {
    if (a.bits.bits != b.bits.bits) return a.bits.bits < b.bits.bits;
    return a.accuracy > b.accuracy;
  });
  std::vector<MeasuredConfig> front;
  for (MeasuredConfig& config : configs) {
    if (front.empty() || config.accuracy > front.back().accuracy) front.push_back(std::move(config));
  }
  return front;
}

void write_mixed_outputs(const MixedReport& report, const fs::path& out_dir) {
  write_file_atomically(out_dir / "summary.json", report.summary.dump(2) + "\n");
  std::ostringstream comment;
  comment << std::fixed << std::setprecision(3) << "whittle search quant: " << report.finished.chosen.bits.average()
          << " bits per Linear parameter on average, validation accuracy " << std::setprecision(4)
          << report.finished.chosen.accuracy << " (float " << report.float_accuracy << ", budget "
          << std::setprecision(2) << report.budget_points << " points).\nwhittle quantize --config FILE";
  write_file_atomically(out_dir / "mixed-config.toml", to_toml(report.chosen_config, comment.str()));
  write_file_atomically(out_dir / "mixed-config.json", passes::to_json(report.chosen_config).dump(2) + "\n");
  json sensitivity = to_json(report.sensitivity);
  sensitivity["rank_agreement"] = to_json(report.rank_agreement);
  write_file_atomically(out_dir / "sensitivity.json", sensitivity.dump(2) + "\n");
  write_file_atomically(out_dir / "sensitivity.csv", sensitivity_csv(report.sensitivity));
  const std::vector<MeasuredConfig> front = pareto_front(report.configs);
  write_pareto_tables(report, front, out_dir);
  draw_pareto(report, front, out_dir);
}

}  // namespace whittle::experiments
