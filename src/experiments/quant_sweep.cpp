#include "experiments/quant_sweep.h"

#include <ostream>
#include <sstream>

#include "experiments/compressed_model.h"
#include "experiments/model_size.h"
#include "experiments/point_runner.h"
#include "experiments/result_store.h"
#include "experiments/sweep_baseline.h"
#include "experiments/train_with_evaluation.h"
#include "passes/quantize/quantize_config.h"
#include "passes/quantize/quantize_pass.h"
#include "report/plot.h"
#include "report/sweep_records.h"
#include "report/sweep_results.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/file_lock.h"

namespace whittle::experiments {
namespace fs = std::filesystem;

namespace {

using report::QuantMode;
using report::quant_point_key;

int64_t frac_for(std::optional<int64_t> frac_width, int64_t width) { return frac_width.value_or(width / 2); }

int64_t frac_for(const QuantSweepOptions& options, int64_t width) { return frac_for(options.frac_width, width); }

model::BertForSequenceClassification quantized_base(const QuantSweepOptions& options, int64_t width) {
  auto loaded = load_compressed(options.base_model, options.qat.seed);
  passes::quantize_pass(loaded.model, passes::uniform_quantize_config(width, frac_for(options, width)));
  return loaded.model;
}

nlohmann::json signature(const QuantSweepOptions& options) {
  return {{"sweep", "quantization"},
          {"base_model", fs::absolute(options.base_model).lexically_normal().string()},
          {"base_model_digest", model_content_digest(options.base_model)},
          {"frac_width", options.frac_width ? nlohmann::json(*options.frac_width) : nlohmann::json("width/2")},
          {"qat", to_json(options.qat)},
          {"data", options.data_description}};
}

fs::path qat_model_dir(const QuantSweepOptions& options, int64_t width) {
  return options.out_dir / "models" / ("qat-w" + std::to_string(width));
}

report::QuantPoint run_ptq_point(const QuantSweepOptions& options, int64_t width, const data::TokenizedDataset& test_set,
                             std::ostream& log) {
  auto model = quantized_base(options, width);
  report::QuantPoint point;
  point.mode = QuantMode::ptq;
  point.width = width;
  point.frac_width = frac_for(options, width);
  point.test = evaluation_record(train::evaluate(model, test_set, options.eval, log));
  point.accuracy = point.test->accuracy;
  point.size = to_json(measure_model_size(model));
  return point;
}

report::QuantPoint run_qat_point(const QuantSweepOptions& options, int64_t width, const data::TokenizedDataset& train_set,
                             const data::TokenizedDataset& test_set, std::ostream& log) {
  auto model = quantized_base(options, width);
  auto outcome = train_with_evaluation(model, train_set, test_set, options.qat, options.eval, log);
  model::assign_tensors(*model, outcome.best_state, {});
  const fs::path saved = qat_model_dir(options, width);
  save_compressed(saved, model, {{"quantization_aware_training", {{"width", width}, {"epochs", outcome.epochs}}}},
                  options.tokenizer_dir);
  report::QuantPoint point;
  point.mode = QuantMode::qat;
  point.width = width;
  point.frac_width = frac_for(options, width);
  point.epochs = outcome.epochs;
  point.best_epoch = outcome.best_epoch;
  point.accuracy = outcome.best_accuracy;
  point.model = fs::relative(saved, options.out_dir).string();
  point.size = to_json(measure_model_size(model));
  return point;
}

void copy_directory(const fs::path& from, const fs::path& to) {
  write_directory_atomically(to, [&](const fs::path& staging) {
    for (const auto& entry : fs::directory_iterator(from)) fs::copy(entry.path(), staging / entry.path().filename());
  });
}

QuantSweepSummary summarize(const QuantSweepOptions& options, const ResultStore& store) {
  QuantSweepSummary summary;
  summary.baseline_accuracy =
      report::baseline_from_json(*store.get(report::kBaselineKey), report::kBaselineKey).test.accuracy;
  for (int64_t width : options.widths) {
    const std::string key = quant_point_key(QuantMode::qat, width);
    auto qat = store.get(key);
    if (!qat) continue;
    double accuracy = report::quant_point_from_json(*qat, key).accuracy;
    if (summary.best_qat_width == 0 || accuracy > summary.best_qat_accuracy) {
      summary.best_qat_width = width;
      summary.best_qat_accuracy = accuracy;
    }
  }
  return summary;
}

// Copies the best QAT model to models/best-qat, training it again first if
// its checkpoint is missing.
QuantSweepSummary keep_best_qat_model(const QuantSweepOptions& options, QuantSweepSummary summary, ResultStore& store,
                                      const data::TokenizedDataset& train_set, const data::TokenizedDataset& test_set,
                                      std::ostream& log) {
  const std::string key = quant_point_key(QuantMode::qat, summary.best_qat_width);
  if (!fs::exists(qat_model_dir(options, summary.best_qat_width) / model::Checkpoint::weights_file)) {
    // Results are committed but checkpoints are not, so a fresh checkout
    // has the numbers without the model: train it again and record what
    // this run measured, keeping the earlier figure beside it.
    log << "the best QAT model (" << key << ") is not on disk; training it again\n";
    double earlier = report::quant_point_from_json(*store.get(key), key).accuracy;
    report::QuantPoint point = run_qat_point(options, summary.best_qat_width, train_set, test_set, log);
    point.earlier_accuracy = earlier;
    store.put(key, point);
    summary.best_qat_accuracy = point.accuracy;
  }
  summary.best_qat_model = options.out_dir / "models" / "best-qat";
  copy_directory(qat_model_dir(options, summary.best_qat_width), summary.best_qat_model);
  log << "best QAT model: " << summary.best_qat_width << " bits, accuracy " << summary.best_qat_accuracy << " → "
      << summary.best_qat_model.string() << "\n";
  return summary;
}

}  // namespace

std::vector<int64_t> default_quant_widths() { return {4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32}; }

void validate_quant_widths(const std::vector<int64_t>& widths, std::optional<int64_t> frac_width) {
  if (widths.empty()) throw Error("the quantization sweep needs at least one width");
  // One frac width for inputs, weights and biases: it must suit an input.
  for (int64_t width : widths) {
    passes::validate_fixed_point_format({width, frac_for(frac_width, width)}, passes::FixedPointOperand::input);
  }
}

nlohmann::json to_json(const QuantSweepSummary& summary) {
  return {{"baseline_accuracy", summary.baseline_accuracy},
          {"best_qat_width", summary.best_qat_width},
          {"best_qat_accuracy", summary.best_qat_accuracy},
          {"best_qat_model", summary.best_qat_model.string()},
          {"complete", summary.points_left_to_others == 0},
          {"points_left_to_other_processes", summary.points_left_to_others}};
}

QuantSweepSummary run_quant_sweep(const QuantSweepOptions& options, const data::TokenizedDataset& train_set,
                                  const data::TokenizedDataset& test_set, std::ostream& log) {
  validate_quant_widths(options.widths, options.frac_width);
  fs::create_directories(options.out_dir / "models");
  ResultStore store(options.out_dir / "results.json", signature(options));

  std::vector<SweepPoint> points;
  if (!store.has(report::kBaselineKey)) {
    points.push_back({report::kBaselineKey,
                      [&options, &test_set](std::ostream& point_log) -> nlohmann::json {
                        return evaluate_baseline(options.base_model, options.qat.seed, test_set, options.eval,
                                                 point_log);
                      },
                      evaluation_work(test_set)});
  }
  for (QuantMode mode : {QuantMode::ptq, QuantMode::qat}) {
    if (mode == QuantMode::qat && !options.run_qat) continue;
    for (int64_t width : options.widths) {
      std::string key = quant_point_key(mode, width);
      if (store.has(key)) continue;
      double work = mode == QuantMode::ptq ? evaluation_work(test_set)
                                           : training_work(train_set, test_set, options.qat.epochs);
      points.push_back({key,
                        [&options, &train_set, &test_set, mode, width](std::ostream& point_log) -> nlohmann::json {
                          return mode == QuantMode::ptq
                                     ? run_ptq_point(options, width, test_set, point_log)
                                     : run_qat_point(options, width, train_set, test_set, point_log);
                        },
                        work,
                        mode == QuantMode::qat ? std::vector<fs::path>{qat_model_dir(options, width)}
                                               : std::vector<fs::path>{}});
    }
  }
  log << "quantization sweep: " << points.size() << " points to run";
  if (store.points().size() > 0) log << " (" << store.points().size() << " already in " << store.path().string() << ")";
  log << "\n";
  run_sweep_points(store, points, point_runner_options(options, [&options] { write_quant_sweep_outputs(options.out_dir); }),
                   "quantization sweep", log);
  QuantSweepSummary summary;
  const std::vector<std::string> missing = missing_points(store, points);
  if (!missing.empty()) {
    log << "quantization sweep: " << left_to_other_processes(missing);
    summary.points_left_to_others = static_cast<int64_t>(missing.size());
    return summary;
  }
  summary = summarize(options, store);
  if (summary.best_qat_width != 0) {
    // Processes that share the sweep take turns: the first retrains a missing
    // model, and each copy is atomic.
    FileLock turn = FileLock::acquire(options.out_dir / "models" / "best-qat.lock");
    summary = keep_best_qat_model(options, summary, store, train_set, test_set, log);
  }
  store.write_outputs_once([&options] { write_quant_sweep_outputs(options.out_dir); });
  return summary;
}

void write_quant_sweep_outputs(const fs::path& out_dir) {
  report::QuantSweepRows sweep =
      report::quant_rows_from_results(nlohmann::json::parse(read_file(out_dir / "results.json")));
  std::ostringstream csv;
  csv << "width,ptq_accuracy,qat_accuracy\n";
  report::Series ptq{"PTQ", {}}, qat{"QAT", {}};
  report::LinePlot plot{"Fixed-point quantization of every Linear (IMDb test)", "fixed-point width (bits)",
                        "highest accuracy", {}, {}, {}};
  auto cell = [](const std::optional<double>& value) { return value ? std::to_string(*value) : std::string(); };
  for (const auto& row : sweep.rows) {
    csv << row.width << "," << cell(row.ptq_accuracy) << "," << cell(row.qat_accuracy) << "\n";
    if (row.ptq_accuracy) ptq.points.emplace_back(row.width, *row.ptq_accuracy);
    if (row.qat_accuracy) qat.points.emplace_back(row.width, *row.qat_accuracy);
    plot.x_ticks.push_back(static_cast<double>(row.width));
  }
  write_file_atomically(out_dir / "results.csv", csv.str());
  plot.series = {ptq, qat};
  if (sweep.baseline_accuracy) plot.references.push_back({"float32 baseline", *sweep.baseline_accuracy});
  if (!sweep.rows.empty()) report::draw(plot, out_dir / "quantization");
}

}  // namespace whittle::experiments
