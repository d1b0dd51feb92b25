#include "experiments/mixed/mixed_search.h"

#include <algorithm>
#include <chrono>
#include <ostream>
#include <set>

#include "experiments/mixed/fisher.h"
#include "experiments/mixed/frac_choice.h"
#include "experiments/mixed/mixed_finish.h"
#include "experiments/mixed/mixed_outputs.h"
#include "experiments/mixed/search_phases.h"
#include "experiments/mixed/search_state.h"
#include "experiments/mixed/sensitivity.h"
#include "experiments/mixed/validation_split.h"
#include "experiments/mixed/width_search.h"
#include "experiments/train_with_evaluation.h"
#include "util/error.h"
#include "util/progress.h"

namespace whittle::experiments {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string sensitivity_key(const QuantTarget& target, int64_t width) {
  return "sensitivity/" + target.key() + "/w" + std::to_string(width);
}

std::string uniform_key(UniformRule rule, int64_t width) {
  return "uniform/" + to_string(rule) + "/w" + std::to_string(width);
}

json signature(const MixedSearchOptions& options, const ValidationSplit& split) {
  return {{"search", "mixed precision"},
          {"base_model", fs::absolute(options.base_model).lexically_normal().string()},
          {"data", options.data_description},
          {"validation", describe(split)},
          {"widths", options.widths},
          {"input_width", options.input_width},
          {"sensitivity_size", options.sensitivity_size},
          {"calibration_size", options.calibration_size},
          {"fisher_size", options.fisher_size}};
}

// `size` reviews of the validation set, balanced, the same on every run.
data::TokenizedDataset validation_subset(const data::TokenizedDataset& validation, int64_t size, uint64_t seed) {
  if (size >= validation.size()) return validation;
  return split_validation(validation, size, seed).validation;
}

std::vector<int64_t> frac_widths(const MixedSearchOptions& options) {
  std::set<int64_t> widths(options.widths.begin(), options.widths.end());
  widths.insert(options.input_width);
  for (int64_t width : options.test_uniform_widths) widths.insert(width);
  return {widths.begin(), widths.end()};
}

using Search = SearchState;

// The float model on the validation set, and on the sensitivity subset.
double float_phase(Search& s, const data::TokenizedDataset& sensitivity_set) {
  if (!s.store.has("float")) {
    ModelPool::Lease lease = s.pool.take();
    s.store.put("float", to_json(train::evaluate(lease.model(), s.split.validation, s.options.eval, s.log)));
  }
  if (!s.store.has("float/sensitivity")) {
    ModelPool::Lease lease = s.pool.take();
    s.store.put("float/sensitivity", to_json(train::evaluate(lease.model(), sensitivity_set, s.options.eval, s.log)));
  }
  return s.store.get("float")->at("accuracy").get<double>();
}

// Whether the stored table has every width this run needs (a run may ask
// for other uniform references than the one that stored it).
bool has_every_width(const FracTable& table, const std::vector<int64_t>& widths) {
  return !table.empty() && std::all_of(table.begin(), table.end(), [&](const auto& entry) {
    return std::all_of(widths.begin(), widths.end(), [&](int64_t width) { return entry.second.contains(width); });
  });
}

FracTable frac_phase(Search& s) {
  const auto stored = s.store.get("fracs");
  if (!stored || !has_every_width(frac_table_from_json(*stored), frac_widths(s.options))) {
    ModelPool::Lease lease = s.pool.take();
    data::TokenizedDataset calibration =
        validation_subset(s.split.validation, s.options.calibration_size, s.options.validation_seed + 1);
    s.store.put("fracs", to_json(choose_fracs(lease.model(), frac_widths(s.options), calibration, s.options.eval)));
  }
  return frac_table_from_json(*s.store.get("fracs"));
}

FisherScores fisher_phase(Search& s, const FracTable& fracs) {
  if (!s.store.has("fisher")) {
    ModelPool::Lease lease = s.pool.take();
    data::TokenizedDataset examples =
        validation_subset(s.split.validation, s.options.fisher_size, s.options.validation_seed + 2);
    FisherScores scores = fisher_scores(lease.model(), examples, s.options.widths, fracs);
    s.log << "fisher: " << scores.examples << " examples in " << format_duration(scores.seconds) << "\n";
    s.store.put("fisher", to_json(scores));
  }
  return fisher_scores_from_json(*s.store.get("fisher"));
}

std::vector<QuantTarget> all_targets(const ModelPool& pool) {
  std::vector<QuantTarget> targets;
  for (const std::string& linear : pool.linears()) {
    for (TensorRole role : {TensorRole::input, TensorRole::weight, TensorRole::bias}) targets.push_back({linear, role});
  }
  return targets;
}

std::vector<SweepPoint> sensitivity_points(Search& s, const FracTable& fracs, const data::TokenizedDataset& set) {
  std::vector<SweepPoint> points;
  for (const QuantTarget& target : all_targets(s.pool)) {
    for (int64_t width : s.options.widths) {
      const passes::FixedPointFormat format{width, fracs.at(target.key()).at(width)};
      points.push_back({sensitivity_key(target, width),
                        [&s, &set, target, format](std::ostream&) -> json {
                          ModelPool::Lease lease = s.pool.take();
                          linear_named(lease.model(), target.linear)->attach(OneTensorQuantize(target.role, format).ptr());
                          std::ostream quiet(nullptr);
                          auto result = train::evaluate(lease.model(), set, s.options.eval, quiet);
                          return {{"loss", result.loss}, {"accuracy", result.accuracy},
                                  {"width", format.width}, {"frac_width", format.frac_width}};
                        },
                        evaluation_work(set)});
    }
  }
  return points;
}

std::vector<SweepPoint> uniform_points(Search& s, const FracTable& fracs) {
  std::vector<SweepPoint> points;
  for (UniformRule rule : {UniformRule::half, UniformRule::calibrated}) {
    for (int64_t width : s.options.widths) {
      points.push_back({uniform_key(rule, width),
                        [&s, &fracs, rule, width](std::ostream&) -> json {
                          MixedFormats formats = uniform_formats(s.pool.linears(), width,
                                                                 rule == UniformRule::calibrated ? &fracs : nullptr);
                          std::ostream quiet(nullptr);
                          auto result = evaluate_formats(s.pool, formats, s.split.validation, s.options.eval, quiet);
                          return to_json(MeasuredConfig{formats, linear_bits(formats, s.pool.parameter_counts()),
                                                        result.accuracy, result.loss});
                        },
                        evaluation_work(s.split.validation)});
    }
  }
  return points;
}

void run_points(Search& s, const std::vector<SweepPoint>& points, const std::string& label) {
  PointRunnerOptions runner = point_runner_options(s.options, nullptr);
  run_sweep_points(s.store, points, runner, label, s.log);
}

SensitivityTable sensitivity_table(Search& s, const FracTable& fracs, const FisherScores& fisher) {
  SensitivityTable table;
  const json float_result = *s.store.get("float/sensitivity");
  table.float_loss = float_result.at("loss").get<double>();
  table.float_accuracy = float_result.at("accuracy").get<double>();
  for (const QuantTarget& target : all_targets(s.pool)) {
    for (int64_t width : s.options.widths) {
      const json point = *s.store.get(sensitivity_key(target, width));
      SensitivityRow row{target, width, point.at("frac_width").get<int64_t>(), point.at("loss").get<double>(),
                         point.at("accuracy").get<double>(), std::nullopt};
      auto scores = fisher.score.find(target.key());
      if (scores != fisher.score.end() && scores->second.contains(width)) row.fisher = scores->second.at(width);
      table.rows.push_back(row);
    }
  }
  return table;
}

AllocationProblem allocation_problem(const SensitivityTable& table, const ModelPool& pool,
                                     const std::vector<int64_t>& widths) {
  AllocationProblem problem;
  problem.counts = pool.parameter_counts();
  problem.widths = widths;
  std::sort(problem.widths.begin(), problem.widths.end());
  std::map<std::string, std::map<int64_t, double>> measured;
  for (const auto& row : table.rows) {
    if (is_parameter(row.target.role)) measured[row.target.key()][row.width] = table.loss_increase(row);
  }
  for (const auto& [key, by_width] : measured) problem.damage[key] = monotone_damage(by_width);
  return problem;
}

std::vector<UniformPoint> uniform_results(Search& s) {
  std::vector<UniformPoint> points;
  for (UniformRule rule : {UniformRule::half, UniformRule::calibrated}) {
    for (int64_t width : s.options.widths) {
      if (auto stored = s.store.get(uniform_key(rule, width))) {
        points.push_back({rule, width, measured_config_from_json(*stored)});
      }
    }
  }
  return points;
}

std::vector<MeasuredConfig> measured_configs(const ResultStore& store) {
  std::vector<MeasuredConfig> configs;
  for (const auto& [key, value] : store.points()) {
    if (key.starts_with("config/")) configs.push_back(measured_config_from_json(value));
  }
  return configs;
}

}  // namespace

std::vector<int64_t> default_search_widths() { return {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}; }

void MixedSearchOptions::validate() const {
  if (!(budget_points >= 0.0 && budget_points <= 100.0)) {
    throw Error("--budget-points must be from 0 to 100 accuracy points, got " + std::to_string(budget_points));
  }
  if (widths.empty()) throw Error("the search needs at least one candidate width");
  for (int64_t width : widths) {
    if (width < 2 || width > 32) throw Error("search widths must be from 2 to 32 bits, got " + std::to_string(width));
  }
  if (input_width < 2 || input_width > 32) {
    throw Error("--input-width must be from 2 to 32 bits, got " + std::to_string(input_width));
  }
  for (int64_t width : test_uniform_widths) {
    if (width < 2 || width > 32) throw Error("uniform widths must be from 2 to 32 bits, got " + std::to_string(width));
  }
  if (sensitivity_size < 1) throw Error("--sensitivity-size must be at least 1");
  if (calibration_size < 1) throw Error("--calibration-size must be at least 1");
  if (fisher_size < 1) throw Error("--fisher-size must be at least 1");
  if (refine_evaluations < 0) throw Error("--refine-evaluations must not be negative");
  if (front_points < 0) throw Error("--front-points must not be negative");
  if (qat_train_limit < 0) throw Error("--qat-train-limit must not be negative (0 = all)");
  if (run_qat) qat.validate();
}

json to_json(const MixedSearchSummary& summary) {
  json result = {{"float_validation_accuracy", summary.float_validation_accuracy},
                 {"target_accuracy", summary.target_accuracy},
                 {"budget_met", summary.budget_met},
                 {"linear_bits", summary.chosen_bits.bits},
                 {"linear_parameters", summary.chosen_bits.parameters},
                 {"average_bits", summary.chosen_bits.average()},
                 {"validation_accuracy", summary.chosen_validation_accuracy},
                 {"final", summary.final_is_qat ? "qat" : "ptq"},
                 {"final_model", summary.final_model.string()},
                 {"search_evaluations", summary.evaluations},
                 {"seconds", summary.seconds},
                 {"formats", to_json(summary.chosen)}};
  result["qat_validation_accuracy"] =
      summary.qat_validation_accuracy ? json(*summary.qat_validation_accuracy) : json(nullptr);
  result["qat_validation_loss"] = summary.qat_validation_loss ? json(*summary.qat_validation_loss) : json(nullptr);
  result["validation_loss"] = summary.chosen_validation_loss;
  if (!summary.test.is_null()) result["test"] = summary.test;
  return result;
}

MixedSearchSummary run_mixed_search(const MixedSearchOptions& options, const data::TokenizedDataset& train_set,
                                    const data::TokenizedDataset& test_set, std::ostream& log) {
  const auto start = std::chrono::steady_clock::now();
  options.validate();
  const ValidationSplit split = split_validation(train_set, options.validation_size, options.validation_seed);
  log << "validation: " << split.validation.size() << " reviews of the train split (seed " << split.seed << ", "
      << split.validation.total_tokens() << " tokens); " << split.remainder.size() << " left for training\n";
  fs::create_directories(options.out_dir / "models");
  ResultStore store(options.out_dir / "results.json", signature(options, split));
  ModelPool pool(options.base_model, options.qat.seed);
  Search s{options, split, store, pool, log};

  SearchPhases phases(log, planned_phases(options, split, test_set, store, pool.linears().size()));
  MixedSearchSummary summary;
  const data::TokenizedDataset sensitivity_set =
      validation_subset(split.validation, options.sensitivity_size, options.validation_seed + 4);
  phases.begin("float");
  summary.float_validation_accuracy = float_phase(s, sensitivity_set);
  summary.target_accuracy = summary.float_validation_accuracy - options.budget_points / 100.0;
  phases.begin("fracs");
  const FracTable fracs = frac_phase(s);
  phases.begin("fisher");
  const FisherScores fisher = fisher_phase(s, fracs);
  phases.begin("sensitivity");
  run_points(s, sensitivity_points(s, fracs, sensitivity_set), "sensitivity");
  phases.begin("uniform");
  run_points(s, uniform_points(s, fracs), "uniform widths");
  const SensitivityTable table = sensitivity_table(s, fracs, fisher);

  phases.begin("search");
  const AllocationProblem problem = allocation_problem(table, pool, options.widths);
  ConfigMeter meter(store, pool, split.validation, options.eval);
  auto measure = [&](const WidthChoice& choice) {
    return meter.measure(formats_of(pool.linears(), choice, options.input_width, fracs));
  };
  WidthSearchSettings settings{summary.target_accuracy, options.front_points, options.refine_evaluations};
  const WidthSearchOutcome found = search_widths(problem, measure, settings, log);
  summary.chosen = found.measured.formats;
  summary.chosen_bits = found.measured.bits;
  summary.chosen_validation_accuracy = found.measured.accuracy;
  summary.chosen_validation_loss = found.measured.loss;
  summary.budget_met = found.budget_met;
  summary.evaluations = found.evaluations;
  if (!found.budget_met) log << "search: no configuration is within the budget, not even the widest\n";

  phases.begin("qat");
  FinishedModels finished = finish_models(s, found.measured);
  summary.qat_validation_accuracy = finished.qat_validation_accuracy;
  summary.qat_validation_loss = finished.qat_validation_loss;
  summary.final_is_qat = finished.final_is_qat;
  summary.final_model = finished.final_model;
  phases.begin("test");
  if (options.evaluate_test) {
    summary.test = evaluate_on_test(s, finished, fracs, test_set);
  }
  phases.finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  MixedReport report{table, compare_rankings(table), uniform_results(s), measured_configs(store), finished,
                     options.budget_points, summary.float_validation_accuracy, to_json(summary),
                     by_name_config(pool.linears(), summary.chosen)};
  write_mixed_outputs(report, options.out_dir);
  return summary;
}

}  // namespace whittle::experiments
