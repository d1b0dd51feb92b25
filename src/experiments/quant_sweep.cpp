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
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::experiments {
namespace fs = std::filesystem;

namespace {

std::string width_key(const char* stage, int64_t width) { return std::string(stage) + "/w" + std::to_string(width); }

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
          {"frac_width", options.frac_width ? nlohmann::json(*options.frac_width) : nlohmann::json("width/2")},
          {"qat", to_json(options.qat)},
          {"data", options.data_description}};
}

fs::path qat_model_dir(const QuantSweepOptions& options, int64_t width) {
  return options.out_dir / "models" / ("qat-w" + std::to_string(width));
}

nlohmann::json run_ptq_point(const QuantSweepOptions& options, int64_t width, const data::TokenizedDataset& test_set,
                             std::ostream& log) {
  auto model = quantized_base(options, width);
  nlohmann::json test = to_json(train::evaluate(model, test_set, options.eval, log));
  return {{"width", width},
          {"frac_width", frac_for(options, width)},
          {"test", test},
          {"accuracy", test.at("accuracy")},
          {"size", to_json(measure_model_size(model))}};
}

nlohmann::json run_qat_point(const QuantSweepOptions& options, int64_t width, const data::TokenizedDataset& train_set,
                             const data::TokenizedDataset& test_set, std::ostream& log) {
  auto model = quantized_base(options, width);
  auto outcome = train_with_evaluation(model, train_set, test_set, options.qat, options.eval, log);
  model::assign_tensors(*model, outcome.best_state, {});
  const fs::path saved = qat_model_dir(options, width);
  save_compressed(saved, model, {{"quantization_aware_training", {{"width", width}, {"epochs", outcome.epochs}}}},
                  options.tokenizer_dir);
  return {{"width", width},
          {"frac_width", frac_for(options, width)},
          {"epochs", outcome.epochs},
          {"best_epoch", outcome.best_epoch},
          {"accuracy", outcome.best_accuracy},
          {"model", fs::relative(saved, options.out_dir).string()},
          {"size", to_json(measure_model_size(model))}};
}

void copy_directory(const fs::path& from, const fs::path& to) {
  write_directory_atomically(to, [&](const fs::path& staging) {
    for (const auto& entry : fs::directory_iterator(from)) fs::copy(entry.path(), staging / entry.path().filename());
  });
}

}  // namespace

std::vector<int64_t> default_quant_widths() { return {4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32}; }

void validate_quant_widths(const std::vector<int64_t>& widths, std::optional<int64_t> frac_width) {
  if (widths.empty()) throw Error("the quantization sweep needs at least one width");
  for (int64_t width : widths) passes::validate_fixed_point_format({width, frac_for(frac_width, width)});
}

nlohmann::json to_json(const QuantSweepSummary& summary) {
  return {{"baseline_accuracy", summary.baseline_accuracy},
          {"best_qat_width", summary.best_qat_width},
          {"best_qat_accuracy", summary.best_qat_accuracy},
          {"best_qat_model", summary.best_qat_model.string()}};
}

QuantSweepSummary run_quant_sweep(const QuantSweepOptions& options, const data::TokenizedDataset& train_set,
                                  const data::TokenizedDataset& test_set, std::ostream& log) {
  validate_quant_widths(options.widths, options.frac_width);
  fs::create_directories(options.out_dir / "models");
  ResultStore store(options.out_dir / "results.json", signature(options));

  std::vector<std::string> pending;
  if (!store.has("baseline")) pending.push_back("baseline");
  for (int64_t width : options.widths) {
    if (!store.has(width_key("ptq", width))) pending.push_back(width_key("ptq", width));
  }
  for (int64_t width : options.widths) {
    if (options.run_qat && !store.has(width_key("qat", width))) pending.push_back(width_key("qat", width));
  }
  log << "quantization sweep: " << pending.size() << " points to run";
  if (store.points().size() > 0) log << " (" << store.points().size() << " already in " << store.path().string() << ")";
  log << "\n";

  std::vector<SweepPoint> points;
  for (const std::string& key : pending) {
    points.push_back({key, [&options, &train_set, &test_set, key](std::ostream& point_log) -> nlohmann::json {
                        if (key == "baseline") {
                          return evaluate_baseline(options.base_model, options.qat.seed, test_set, options.eval,
                                                   point_log);
                        }
                        int64_t width = std::stoll(key.substr(key.find("/w") + 2));
                        return key.starts_with("ptq/") ? run_ptq_point(options, width, test_set, point_log)
                                                       : run_qat_point(options, width, train_set, test_set, point_log);
                      }});
  }
  run_sweep_points(store, points, {options.workers, [&options] { write_quant_sweep_outputs(options.out_dir); }},
                   "quantization sweep", log);
  store.refresh();

  QuantSweepSummary summary;
  summary.baseline_accuracy = store.get("baseline")->at("accuracy").get<double>();
  for (int64_t width : options.widths) {
    auto qat = store.get(width_key("qat", width));
    if (!qat) continue;
    double accuracy = qat->at("accuracy").get<double>();
    if (summary.best_qat_width == 0 || accuracy > summary.best_qat_accuracy) {
      summary.best_qat_width = width;
      summary.best_qat_accuracy = accuracy;
    }
  }
  if (summary.best_qat_width != 0) {
    const std::string key = width_key("qat", summary.best_qat_width);
    if (!fs::exists(qat_model_dir(options, summary.best_qat_width) / "model.safetensors")) {
      // Results are committed but checkpoints are not, so a fresh checkout
      // has the numbers without the model: train it again and record what
      // this run measured, keeping the earlier figure beside it.
      log << "the best QAT model (" << key << ") is not on disk; training it again\n";
      nlohmann::json earlier = *store.get(key);
      nlohmann::json point = run_qat_point(options, summary.best_qat_width, train_set, test_set, log);
      point["earlier_accuracy"] = earlier.at("accuracy");
      store.put(key, point);
      write_quant_sweep_outputs(options.out_dir);
      summary.best_qat_accuracy = point.at("accuracy").get<double>();
    }
    summary.best_qat_model = options.out_dir / "models" / "best-qat";
    copy_directory(qat_model_dir(options, summary.best_qat_width), summary.best_qat_model);
    log << "best QAT model: " << summary.best_qat_width << " bits, accuracy " << summary.best_qat_accuracy << " → "
        << summary.best_qat_model.string() << "\n";
  }
  return summary;
}

void write_quant_sweep_outputs(const fs::path& out_dir) {
  auto store = ResultStore::open_existing(out_dir / "results.json");
  std::map<int64_t, std::pair<std::optional<double>, std::optional<double>>> by_width;  // ptq, qat
  std::optional<double> baseline;
  for (const auto& [key, value] : store.points()) {
    if (key == "baseline") {
      baseline = value.at("accuracy").get<double>();
      continue;
    }
    int64_t width = value.at("width").get<int64_t>();
    auto& slot = key.starts_with("ptq/") ? by_width[width].first : by_width[width].second;
    slot = value.at("accuracy").get<double>();
  }
  std::ostringstream csv;
  csv << "width,ptq_accuracy,qat_accuracy\n";
  report::Series ptq{"PTQ", {}}, qat{"QAT", {}};
  report::LinePlot plot{"Fixed-point quantization of every Linear (IMDb test)", "fixed-point width (bits)",
                        "highest accuracy", {}, {}, {}};
  auto cell = [](const std::optional<double>& value) { return value ? std::to_string(*value) : std::string(); };
  for (const auto& [width, accuracies] : by_width) {
    csv << width << "," << cell(accuracies.first) << "," << cell(accuracies.second) << "\n";
    if (accuracies.first) ptq.points.emplace_back(width, *accuracies.first);
    if (accuracies.second) qat.points.emplace_back(width, *accuracies.second);
    plot.x_ticks.push_back(static_cast<double>(width));
  }
  write_file_atomically(out_dir / "results.csv", csv.str());
  plot.series = {ptq, qat};
  if (baseline) plot.references.push_back({"float32 baseline", *baseline});
  if (!by_width.empty()) report::draw(plot, out_dir / "quantization");
}

}  // namespace whittle::experiments
