#include "experiments/prune_sweep.h"

#include <cmath>
#include <map>
#include <ostream>
#include <sstream>

#include "experiments/compressed_model.h"
#include "experiments/model_size.h"
#include "experiments/point_runner.h"
#include "experiments/result_store.h"
#include "experiments/sweep_baseline.h"
#include "experiments/train_with_evaluation.h"
#include "passes/prune/prune_config.h"
#include "passes/prune/prune_pass.h"
#include "report/plot.h"
#include "report/sweep_records.h"
#include "report/sweep_results.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::experiments {
namespace fs = std::filesystem;

namespace {

nlohmann::json signature(const PruneSweepOptions& options) {
  return {{"sweep", "pruning"},
          {"base_model", fs::absolute(options.base_model).lexically_normal().string()},
          {"base_model_digest", model_content_digest(options.base_model)},
          {"prune_activations", options.prune_activations},
          {"finetune", to_json(options.finetune)},
          {"data", options.data_description}};
}

report::PrunePoint run_point(const PruneSweepOptions& options, const std::string& method, double sparsity,
                             const data::TokenizedDataset& train_set, const data::TokenizedDataset& test_set,
                             std::ostream& log) {
  auto loaded = load_compressed(options.base_model, options.finetune.seed);
  auto config = passes::uniform_prune_config(sparsity, passes::parse_prune_method(method, "method"),
                                             passes::PruneScope::local, options.prune_activations);
  auto pruned = passes::prune_pass(loaded.model, config, options.finetune.seed);
  auto after_pruning = train::evaluate(loaded.model, test_set, options.eval, log);
  auto outcome = train_with_evaluation(loaded.model, train_set, test_set, options.finetune, options.eval, log);
  report::PrunePoint point;
  point.method = method;
  point.sparsity = sparsity;
  point.measured_weight_sparsity = pruned.overall_sparsity();
  point.layers = passes::to_json(pruned);
  point.after_pruning = evaluation_record(after_pruning);
  point.epochs = outcome.epochs;
  point.best_epoch = outcome.best_epoch;
  point.accuracy = std::max(after_pruning.accuracy, outcome.best_accuracy);
  point.size = to_json(measure_model_size(loaded.model));
  return point;
}

}  // namespace

std::vector<double> default_sparsities() { return {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}; }

std::vector<std::string> default_prune_methods() { return {"random", "l1-norm"}; }

void validate_sparsities(const std::vector<double>& sparsities) {
  if (sparsities.empty()) throw Error("the pruning sweep needs at least one sparsity");
  for (double sparsity : sparsities) {
    if (!(sparsity >= 0.0 && sparsity < 1.0)) throw Error("sparsity must lie in [0, 1), got " + std::to_string(sparsity));
  }
}

void validate_prune_methods(const std::vector<std::string>& methods) {
  if (methods.empty()) throw Error("the pruning sweep needs at least one method");
  for (const auto& method : methods) passes::parse_prune_method(method, "method");
}

int64_t run_prune_sweep(const PruneSweepOptions& options, const data::TokenizedDataset& train_set,
                     const data::TokenizedDataset& test_set, std::ostream& log) {
  validate_sparsities(options.sparsities);
  validate_prune_methods(options.methods);
  fs::create_directories(options.out_dir);
  ResultStore store(options.out_dir / "results.json", signature(options));
  std::vector<std::pair<std::string, double>> pending;
  for (const auto& method : options.methods) {
    for (double sparsity : options.sparsities) {
      if (!store.has(report::prune_point_key(method, sparsity))) pending.emplace_back(method, sparsity);
    }
  }
  bool need_baseline = !store.has(report::kBaselineKey);
  log << "pruning sweep: " << pending.size() + (need_baseline ? 1 : 0) << " points to run\n";
  std::vector<SweepPoint> points;
  points.push_back({report::kBaselineKey,
                    [&options, &test_set](std::ostream& point_log) -> nlohmann::json {
                      return evaluate_baseline(options.base_model, options.finetune.seed, test_set, options.eval,
                                               point_log);
                    },
                    evaluation_work(test_set)});
  // Evaluated right after pruning, then trained with an evaluation after every epoch.
  const double point_work = evaluation_work(test_set) + training_work(train_set, test_set, options.finetune.epochs);
  for (const auto& [method, sparsity] : pending) {
    // Named copies: clang 14 (the fuzz build) cannot capture structured bindings.
    points.push_back({report::prune_point_key(method, sparsity),
                      [&options, &train_set, &test_set, method = method, sparsity = sparsity](std::ostream& point_log) -> nlohmann::json {
                        return run_point(options, method, sparsity, train_set, test_set, point_log);
                      },
                      point_work});
  }
  run_sweep_points(store, points, point_runner_options(options, [&options] { write_prune_sweep_outputs(options.out_dir); }),
                   "pruning sweep", log);
  const std::vector<std::string> missing = missing_points(store, points);
  if (!missing.empty()) {
    log << "pruning sweep: " << left_to_other_processes(missing);
    return static_cast<int64_t>(missing.size());
  }
  store.write_outputs_once([&options] { write_prune_sweep_outputs(options.out_dir); });
  return 0;
}

void write_prune_sweep_outputs(const fs::path& out_dir) {
  report::PruneSweepRows sweep =
      report::prune_rows_from_results(nlohmann::json::parse(read_file(out_dir / "results.json")));
  std::map<std::string, report::Series> series;
  std::optional<double> baseline = sweep.baseline_accuracy;
  auto number = [](const std::optional<double>& value) {
    std::ostringstream text;
    if (value) text << *value;
    return text.str();
  };
  std::ostringstream csv;
  csv << "method,sparsity,measured_weight_sparsity,accuracy_after_pruning,best_accuracy,final_accuracy\n";
  for (const auto& row : sweep.rows) {
    csv << row.method << "," << row.sparsity << "," << number(row.measured_sparsity) << ","
        << number(row.accuracy_after_pruning) << "," << number(row.best_accuracy) << "," << number(row.final_accuracy)
        << "\n";
    auto& line = series[row.method];
    line.name = row.method == "l1-norm" ? "L1-Norm" : "Random";
    if (row.best_accuracy) line.points.emplace_back(row.sparsity, *row.best_accuracy);
  }
  write_file_atomically(out_dir / "results.csv", csv.str());
  report::LinePlot plot{"Unstructured pruning of every Linear, then fine-tuning (IMDb test)", "sparsity",
                        "highest accuracy", {}, {}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}};
  for (auto& [method, line] : series) {
    std::sort(line.points.begin(), line.points.end());
    plot.series.push_back(line);
  }
  if (baseline) plot.references.push_back({"unpruned (best QAT model)", *baseline});
  if (!plot.series.empty()) report::draw(plot, out_dir / "pruning");
}

}  // namespace whittle::experiments
