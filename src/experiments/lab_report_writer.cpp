#include "experiments/lab_report_writer.h"

#include <algorithm>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "experiments/compressed_model.h"
#include "experiments/model_size.h"
#include "experiments/point_runner.h"
#include "passes/prune/prune_config.h"
#include "passes/prune/prune_pass.h"
#include "passes/quantize/quantize_config.h"
#include "passes/quantize/quantize_pass.h"
#include "report/lab_report.h"
#include "report/mase_references.h"
#include "report/sweep_results.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::experiments {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

report::ModelBits bits_of(model::BertForSequenceClassification model) {
  ModelSize size = measure_model_size(model);
  return {size.linear_bits(), size.total_bits()};
}

json read_results(const fs::path& sweep_dir) { return json::parse(read_file(sweep_dir / "results.json")); }

// A sweep's results with the model and seed it started from. Sizes follow
// from the passes alone, so a record older than size measurement gets its
// size by applying the same passes (same seed, hence the same masks) to
// that model.
struct SweepSource {
  json document;
  fs::path base_model;
  uint64_t seed = 0;
};

SweepSource read_sweep(const fs::path& sweep_dir, const char* seeded_stage) {
  SweepSource source{read_results(sweep_dir), {}, 0};
  const json& signature = source.document.at("signature");
  source.base_model = signature.at("base_model").get<std::string>();
  source.seed = signature.at(seeded_stage).at("seed").get<uint64_t>();
  return source;
}

template <typename Row, typename ApplyPasses>
void measure_missing_sizes(std::vector<Row>& rows, const SweepSource& source, ApplyPasses apply_passes) {
  for (auto& row : rows) {
    if (row.size) continue;
    auto model = load_compressed(source.base_model, source.seed).model;
    apply_passes(model, row);
    row.size = bits_of(model);
  }
}

report::QuantSweepRows quant_rows(const fs::path& sweep_dir) {
  const SweepSource source = read_sweep(sweep_dir, "qat");
  report::QuantSweepRows sweep = report::quant_rows_from_results(source.document);
  if (!sweep.baseline_size) sweep.baseline_size = bits_of(load_compressed(source.base_model, source.seed).model);
  measure_missing_sizes(sweep.rows, source, [](auto& model, const report::QuantRow& row) {
    passes::quantize_pass(model, passes::uniform_quantize_config(row.width, row.frac_width));
  });
  return sweep;
}

report::PruneSweepRows prune_rows(const fs::path& sweep_dir) {
  const SweepSource source = read_sweep(sweep_dir, "finetune");
  report::PruneSweepRows sweep = report::prune_rows_from_results(source.document);
  const bool activations = source.document.at("signature").at("prune_activations").get<bool>();
  measure_missing_sizes(sweep.rows, source, [&](auto& model, const report::PruneRow& row) {
    auto config = passes::uniform_prune_config(row.sparsity, passes::parse_prune_method(row.method, "method"),
                                               passes::PruneScope::local, activations);
    passes::prune_pass(model, config, source.seed);
  });
  std::sort(sweep.rows.begin(), sweep.rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.method, a.sparsity) < std::tie(b.method, b.sparsity);
  });
  return sweep;
}

std::optional<report::LoraResult> lora_result(const json& stages) {
  if (!stages.contains("lora")) return std::nullopt;
  const json& summary = stages.at("lora").at("summary");
  report::LoraResult lora;
  const json& adapter = summary.at("lora");
  std::ostringstream description;
  description << "rank " << adapter.value("rank", 0) << ", alpha " << adapter.value("lora_alpha", 0.0)
              << ", dropout " << adapter.value("lora_dropout", 0.0);
  lora.description = description.str();
  lora.accuracy_after = summary.at("accuracy").get<double>();
  lora.trainable_parameters = summary.at("parameters").at("trainable_parameters").get<int64_t>();
  lora.total_parameters = summary.at("parameters").at("total_parameters").get<int64_t>();
  return lora;
}

// The training and evaluation seconds recorded anywhere in `value`.
double recorded_seconds(const json& value) {
  double total = 0.0;
  if (value.is_array()) {
    for (const auto& item : value) total += recorded_seconds(item);
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if ((key == "seconds" || key == "train_seconds") && item.is_number()) {
        total += item.get<double>();
      } else {
        total += recorded_seconds(item);
      }
    }
  }
  return total;
}

// The time during which at least one point was running. Points stored
// without timing (by older versions) count their recorded seconds, as if
// each ran alone.
double points_wall_seconds(const json& points) {
  std::vector<PointTiming> timings;
  double untimed = 0.0;
  for (const auto& point : points) {
    if (auto timing = point_timing(point)) {
      timings.push_back(*timing);
    } else {
      untimed += recorded_seconds(point.at("value"));
    }
  }
  return untimed + busy_seconds(std::move(timings));
}

std::vector<report::StageTiming> stage_timings(const json& stages, const fs::path& run_dir) {
  std::vector<report::StageTiming> timings;
  for (const char* name : {"base", "lora", "quantize", "prune", "mixed"}) {  // the pipeline's order
    if (!stages.contains(name)) continue;
    const json& entry = stages.at(name);
    report::StageTiming timing{name, entry.at("seconds").get<double>(), true, "finished " + entry.value("finished", ""),
                               std::nullopt, std::nullopt};
    // A sweep's points may come from several runs; its summary holds none of their times.
    const fs::path sweep_results = run_dir / name / "results.json";
    if (fs::exists(sweep_results)) {
      const json points = read_results(run_dir / name).at("points");
      timing.measured_seconds = recorded_seconds(points);
      timing.wall_seconds_all_runs = std::max(timing.seconds, points_wall_seconds(points));
    } else {
      timing.measured_seconds = recorded_seconds(entry.at("summary"));
      timing.wall_seconds_all_runs = timing.seconds;
    }
    timings.push_back(std::move(timing));
  }
  return timings;
}

report::StageProtocol stage_protocol(const std::string& stage, const train::TrainOptions& options,
                                     const std::string& trains, const std::string& evaluation) {
  return {stage,
          options.epochs,
          options.batch_size,
          options.learning_rate,
          options.weight_decay,
          options.warmup_ratio,
          options.max_grad_norm,
          trains,
          evaluation};
}

std::vector<report::StageProtocol> stage_protocols(const LabConfig& config) {
  const std::string each_epoch = "after every epoch; the best epoch's model is kept";
  auto trained = [](const train::TrainOptions& options) {
    return options.freeze_embeddings ? "all but the embeddings" : "every parameter";
  };
  std::vector<report::StageProtocol> stages;
  if (config.base.finetune) {
    stages.push_back(stage_protocol("base fine-tune", config.base.finetune_options,
                                    trained(config.base.finetune_options), each_epoch));
  }
  if (config.lora.enabled) {
    stages.push_back(stage_protocol("LoRA", config.lora.training, "the adapters and the classifier", each_epoch));
  }
  stages.push_back(stage_protocol("QAT, each width", config.qat, trained(config.qat), each_epoch));
  stages.push_back(stage_protocol("pruning fine-tune, each point", config.prune_finetune,
                                  trained(config.prune_finetune), "right after pruning and after every epoch"));
  return stages;
}

std::string describe_base(const LabConfig& config) {
  if (config.base.model.empty()) return "BERT (" + config.base.config.string() + ") trained from a random initialisation";
  return config.base.model.string() + (config.base.finetune ? ", fine-tuned on the labelled data" : "");
}

std::string describe_data(const LabConfig& config) {
  std::string source = config.data.source.empty() ? "the IMDb sample shipped with whittle" : config.data.source.string();
  std::ostringstream text;
  text << "IMDb from " << source << ", inputs up to " << config.data.max_length << " tokens";
  if (config.data.train_limit > 0) text << ", " << config.data.train_limit << " train reviews";
  if (config.data.test_limit > 0) text << ", " << config.data.test_limit << " test reviews";
  return text.str();
}

// What the optional mixed-precision stage chose, in one sentence.
std::optional<std::string> mixed_note(const json& stages) {
  if (!stages.contains("mixed")) return std::nullopt;
  const json& summary = stages.at("mixed").at("summary");
  std::ostringstream note;
  note << std::fixed << std::setprecision(2) << "Mixed precision (mixed/, docs/mixed-precision.md): "
       << summary.at("average_bits").get<double>() << " bits per Linear parameter on average, validation accuracy "
       << std::setprecision(4) << summary.at("validation_accuracy").get<double>() << " against float's "
       << summary.at("float_validation_accuracy").get<double>() << " (budget met: "
       << (summary.at("budget_met").get<bool>() ? "yes" : "no") << ")";
  if (summary.contains("test")) {
    for (const auto& row : summary.at("test")) {
      note << "; " << row.at("model").get<std::string>() << " " << row.at("test_accuracy").get<double>();
    }
    note << " on the test split";
  }
  note << ". Config: " << summary.value("config", std::string("mixed/mixed-config.toml")) << ".";
  return note.str();
}

}  // namespace

json write_lab_report(const LabConfig& config, const fs::path& run_dir, const json& stages, std::ostream& log) {
  report::LabReport lab;
  lab.title = config.title;
  lab.model = describe_base(config);
  lab.data = describe_data(config);
  lab.lora = lora_result(stages);
  if (fs::exists(run_dir / "quantize" / "results.json")) {
    auto quantization = quant_rows(run_dir / "quantize");
    lab.baseline_accuracy = quantization.baseline_accuracy;
    lab.baseline_size = quantization.baseline_size;
    lab.quantization = quantization.rows;
    lab.figures.push_back({"Accuracy against fixed-point width", "quantize/quantization"});
  }
  if (fs::exists(run_dir / "prune" / "results.json")) {
    lab.pruning = prune_rows(run_dir / "prune").rows;
    lab.figures.push_back({"Accuracy against sparsity", "prune/pruning"});
  }
  if (fs::exists(run_dir / "mixed" / "pareto.png")) {
    lab.figures.push_back({"Mixed precision against uniform widths (validation set)", "mixed/pareto"});
  }
  lab.references = report::mase_references();
  lab.protocol = stage_protocols(config);
  lab.configs.push_back({"lab config (after profile and overrides)", "json", config.resolved.dump(2)});
  lab.stages = stage_timings(stages, run_dir);
  lab.machine = report::describe_machine();
  if (!lab.quantization.empty() || !lab.pruning.empty()) {
    lab.figures.push_back(report::draw_size_figure(lab, run_dir / "size"));
    lab.figures.back().base = "size";
  }
  lab.notes.push_back(
      "The published numbers start from the pretrained prajjwal1/bert-tiny, whose weights cannot be obtained here; "
      "whittle's base model is stated above. docs/mase-fidelity.md lists where whittle's lab and Mase's differ.");
  if (auto note = mixed_note(stages)) lab.notes.push_back(*note);
  auto files = report::write_lab_report(lab, run_dir);
  log << "report: " << files.markdown.string() << ", " << files.html.string() << "\n";
  return {{"markdown", files.markdown.string()}, {"html", files.html.string()}};
}

}  // namespace whittle::experiments
