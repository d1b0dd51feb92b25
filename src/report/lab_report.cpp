#include "report/lab_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/plot.h"
#include "report/reference_columns.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::report {
namespace fs = std::filesystem;

namespace {

constexpr const char* kMissing = "—";

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string accuracy_text(const std::optional<double>& accuracy) {
  return accuracy ? format("%.4f", *accuracy) : kMissing;
}

std::string kib_text(int64_t bits) { return format("%.1f", static_cast<double>(bits) / 8.0 / 1024.0); }


std::string count_text(int64_t count) {
  std::string digits = std::to_string(count < 0 ? -count : count);
  std::string grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return (count < 0 ? "-" : "") + grouped;
}

std::string duration_text(double seconds) {
  std::string text = format("%.1f s", seconds);
  if (seconds >= 60.0) {
    auto whole = static_cast<int64_t>(std::llround(seconds));
    char clock[48];
    std::snprintf(clock, sizeof clock, " (%lld:%02lld:%02lld)", static_cast<long long>(whole / 3600),
                  static_cast<long long>(whole / 60 % 60), static_cast<long long>(whole % 60));
    text += clock;
  }
  return text;
}

// Size columns: KiB of the Linears, of the whole model, and the Linears'
// compression against the float32 baseline.
struct SizeColumns {
  bool shown = false;
  std::optional<ModelBits> baseline;

  void add_headers(std::vector<std::string>& header) const {
    if (!shown) return;
    header.insert(header.end(), {"Linear layers (KiB)", "whole model (KiB)"});
    if (baseline) header.push_back("Linear compression");
  }
  void add_cells(std::vector<std::string>& cells, const std::optional<ModelBits>& size) const {
    if (!shown) return;
    cells.push_back(size ? kib_text(size->linear) : kMissing);
    cells.push_back(size ? kib_text(size->total) : kMissing);
    if (!baseline) return;
    bool known = size && size->linear > 0;
    cells.push_back(known ? format("%.2f×", static_cast<double>(baseline->linear) / static_cast<double>(size->linear))
                          : kMissing);
  }
};

// The headline results, whittle's and each reference's where it has one.
std::vector<ResultKey> headline_keys() {
  std::vector<ResultKey> keys = {{ReferenceMeasure::lora_fused, 0, "", 0.0},
                                 {ReferenceMeasure::before_quantization, 0, "", 0.0},
                                 {ReferenceMeasure::ptq, 8, "", 0.0},
                                 {ReferenceMeasure::qat, 8, "", 0.0}};
  for (const char* method : {"l1-norm", "random"}) {
    for (auto measure : {ReferenceMeasure::after_pruning, ReferenceMeasure::pruned_best, ReferenceMeasure::pruned_final}) {
      keys.push_back({measure, 0, method, 0.5});
    }
  }
  return keys;
}

Section summary_section(const LabReport& report) {
  Section section{"Summary", {}};
  std::vector<Paragraph> facts;
  if (!report.model.empty()) facts.push_back({"Model: " + report.model + "."});
  if (!report.data.empty()) facts.push_back({"Data: " + report.data + "."});
  if (!report.created.empty()) facts.push_back({"Created: " + report.created + "."});
  for (auto& fact : facts) section.blocks.push_back(fact);

  Table table{{"result", "whittle"}, {}};
  for (const auto& reference : report.references) table.header.push_back(reference.name);
  for (const ResultKey& key : headline_keys()) {
    std::optional<double> ours = whittle_result(report, key);
    std::vector<std::string> cells = {result_label(key), accuracy_text(ours)};
    bool published = false;
    for (const auto& reference : report.references) {
      const ReferenceNumber* number = find_number(reference, key);
      published = published || number != nullptr;
      cells.push_back(reference_text(number));
    }
    if (ours || published) table.rows.push_back(std::move(cells));
  }
  if (report.lora && !report.lora->description.empty()) {
    section.blocks.push_back(Paragraph{"LoRA: " + report.lora->description + "."});
  }
  section.blocks.push_back(std::move(table));
  if (!report.references.empty()) {
    section.blocks.push_back(Paragraph{"Published numbers, each with the file that shows it:"});
    section.blocks.push_back(reference_sources(report.references));
  }
  return section;
}

std::optional<Section> baseline_section(const LabReport& report) {
  if (!report.baseline_size && !report.lora) return std::nullopt;
  Section section{"Baseline", {}};
  if (report.baseline_size) {
    section.blocks.push_back(Paragraph{"Float32 storage: Linear layers " + kib_text(report.baseline_size->linear) +
                                       " KiB (" + count_text(report.baseline_size->linear) + " bits), whole model " +
                                       kib_text(report.baseline_size->total) + " KiB (" +
                                       count_text(report.baseline_size->total) + " bits)."});
  }
  if (report.lora) {
    const LoraResult& lora = *report.lora;
    Table table{{"LoRA", "accuracy, adapters fused", "trainable parameters", "all parameters"}, {}};
    table.rows.push_back({lora.description.empty() ? "LoRA" : lora.description, accuracy_text(lora.accuracy_after),
                          count_text(lora.trainable_parameters),
                          count_text(lora.total_parameters)});
    section.blocks.push_back(std::move(table));
  }
  return section;
}

// The references that published numbers of `measure`, for a column each.
std::vector<const ReferenceResults*> references_with(const LabReport& report, ReferenceMeasure measure) {
  std::vector<const ReferenceResults*> found;
  for (const auto& reference : report.references) {
    if (has_measure(reference, measure)) found.push_back(&reference);
  }
  return found;
}

std::optional<Section> quantization_section(const LabReport& report) {
  if (report.quantization.empty()) return std::nullopt;
  auto reference_ptq = references_with(report, ReferenceMeasure::ptq);
  auto reference_qat = references_with(report, ReferenceMeasure::qat);
  SizeColumns sizes;
  for (const auto& row : report.quantization) sizes.shown = sizes.shown || row.size.has_value();
  sizes.baseline = report.baseline_size;

  Table table{{"width", "frac width", "PTQ accuracy", "QAT accuracy"}, {}};
  for (const auto* reference : reference_ptq) table.header.push_back(reference->name + ", PTQ");
  for (const auto* reference : reference_qat) table.header.push_back(reference->name + ", QAT");
  sizes.add_headers(table.header);
  for (const auto& row : report.quantization) {
    std::vector<std::string> cells = {std::to_string(row.width), std::to_string(row.frac_width),
                                      accuracy_text(row.ptq_accuracy), accuracy_text(row.qat_accuracy)};
    for (const auto* reference : reference_ptq) {
      cells.push_back(reference_text(find_number(*reference, {ReferenceMeasure::ptq, row.width, "", 0.0})));
    }
    for (const auto* reference : reference_qat) {
      cells.push_back(reference_text(find_number(*reference, {ReferenceMeasure::qat, row.width, "", 0.0})));
    }
    sizes.add_cells(cells, row.size);
    table.rows.push_back(std::move(cells));
  }
  const Paragraph about{
    "Fixed-point quantization of every Linear layer's input, weight and bias: accuracy after post-training "
    "quantization (PTQ) and after quantization-aware training (QAT)."};
  return Section{"Quantization", {about, std::move(table)}};
}

std::optional<Section> pruning_section(const LabReport& report) {
  if (report.pruning.empty()) return std::nullopt;
  // One column per reference and pruned measure it published.
  std::vector<std::pair<const ReferenceResults*, ReferenceMeasure>> reference_columns;
  for (const auto& reference : report.references) {
    for (auto measure : {ReferenceMeasure::after_pruning, ReferenceMeasure::pruned_best, ReferenceMeasure::pruned_final}) {
      if (has_measure(reference, measure)) reference_columns.emplace_back(&reference, measure);
    }
  }
  auto column_name = [](ReferenceMeasure measure) {
    if (measure == ReferenceMeasure::after_pruning) return "after pruning";
    return measure == ReferenceMeasure::pruned_best ? "highest" : "final";
  };
  SizeColumns sizes;
  for (const auto& row : report.pruning) sizes.shown = sizes.shown || row.size.has_value();
  sizes.baseline = report.baseline_size;

  Table table{{"method", "sparsity", "measured weight sparsity", "after pruning", "highest", "final"}, {}};
  for (const auto& [reference, measure] : reference_columns) {
    table.header.push_back(reference->name + ", " + column_name(measure));
  }
  sizes.add_headers(table.header);
  for (const auto& row : report.pruning) {
    std::vector<std::string> cells = {method_display_name(row.method), sparsity_text(row.sparsity),
                                      row.measured_sparsity ? format("%.4f", *row.measured_sparsity) : kMissing,
                                      accuracy_text(row.accuracy_after_pruning), accuracy_text(row.best_accuracy),
                                      accuracy_text(row.final_accuracy)};
    for (const auto& [reference, measure] : reference_columns) {
      cells.push_back(reference_text(find_number(*reference, {measure, 0, row.method, row.sparsity})));
    }
    sizes.add_cells(cells, row.size);
    table.rows.push_back(std::move(cells));
  }
  const Paragraph about{
    "Unstructured pruning of every Linear layer, then fine-tuning with the masks fixed, evaluated right after "
    "pruning and after every epoch: \"highest\" is the best of those evaluations (the lab's \"highest achieved "
    "accuracy\"), \"final\" the one after the last epoch."};
  return Section{"Pruning", {about, std::move(table)}};
}

std::optional<Section> protocol_section(const LabReport& report) {
  if (report.protocol.empty()) return std::nullopt;
  Table table{{"stage", "epochs", "batch size", "learning rate", "weight decay", "warm-up ratio", "gradient clipping",
               "trains", "evaluated"},
              {}};
  for (const auto& stage : report.protocol) {
    table.rows.push_back({stage.stage, std::to_string(stage.epochs), std::to_string(stage.batch_size),
                          format("%g", stage.learning_rate), format("%g", stage.weight_decay),
                          format("%g", stage.warmup_ratio), format("%g", stage.max_grad_norm),
                          stage.trains, stage.evaluation});
  }
  const Paragraph about{
    "How each stage trained: AdamW with a linear decay of the learning rate after the warm-up, on the training "
    "split; the accuracies are on the test split."};
  return Section{"Protocol", {about, std::move(table)}};
}

std::string relative_link(const fs::path& file, const fs::path& run_dir) {
  fs::path from = fs::absolute(run_dir).lexically_normal();
  fs::path relative = fs::absolute(file).lexically_normal().lexically_relative(from);
  return (relative.empty() ? file : relative).generic_string();
}

std::optional<Section> figures_section(const LabReport& report, const fs::path& run_dir) {
  if (report.figures.empty()) return std::nullopt;
  Section section{"Figures", {}};
  for (std::size_t i = 0; i < report.figures.size(); ++i) {
    const Figure& figure = report.figures[i];
    fs::path base = figure.base.is_absolute() ? figure.base : run_dir / figure.base;
    fs::path png = fs::path(base) += ".png";
    fs::path svg = fs::path(base) += ".svg";
    for (const fs::path& file : {png, svg}) {
      if (!fs::is_regular_file(file)) throw Error("figure file missing: " + file.string());
    }
    FigureBlock block;
    block.caption = figure.caption;
    block.image_link = relative_link(png, run_dir);
    block.vector_link = relative_link(svg, run_dir);
    block.svg = svg_for_inlining(read_file(svg), "figure" + std::to_string(i + 1) + "-", svg.string());
    section.blocks.push_back(std::move(block));
  }
  return section;
}

std::optional<Section> stages_section(const LabReport& report) {
  if (report.stages.empty()) return std::nullopt;
  Table table{{"stage", "status", "time, last run", "wall time, all runs", "training and evaluation, all runs", "note"},
              {}};
  double total = 0.0, wall_total = 0.0, measured_total = 0.0;
  auto optional_duration = [](const std::optional<double>& seconds) {
    return seconds ? duration_text(*seconds) : std::string();
  };
  for (const auto& stage : report.stages) {
    table.rows.push_back({stage.name, stage.ran ? "ran" : "skipped (already done)", duration_text(stage.seconds),
                          optional_duration(stage.wall_seconds_all_runs), optional_duration(stage.measured_seconds),
                          stage.note});
    total += stage.seconds;
    wall_total += stage.wall_seconds_all_runs.value_or(stage.seconds);
    measured_total += stage.measured_seconds.value_or(0.0);
  }
  table.rows.push_back(
      {"total", "", duration_text(total), duration_text(wall_total), duration_text(measured_total), ""});
  Section section{"Stages", {}};
  section.blocks.push_back(std::move(table));
  section.blocks.push_back(Paragraph{
      "Time, last run: wall-clock time of the run that finished the stage, so a stage resumed after a kill counts "
      "only its last run. Wall time, all runs: the lab's cost, the longer of that and the time during which at "
      "least one of the stage's points was running, over every run; points run side by side (--workers) count "
      "once, work lost in a killed point does not count, and points stored without their timing count their "
      "recorded training and evaluation time. Training and evaluation: the times recorded with the "
      "stage's results, summed over every run and point, so points run side by side add up to more than the "
      "wall-clock time."});
  return section;
}

Section machine_section(const MachineDescription& machine) {
  char memory[32];
  std::snprintf(memory, sizeof memory, "%.1f GiB", static_cast<double>(machine.memory_bytes) / (1024.0 * 1024 * 1024));
  return {"Machine",
          {BulletList{{"CPU: " + machine.cpu_model, "logical cores: " + std::to_string(machine.logical_cores),
                       std::string("memory: ") + memory, "OS: " + machine.os, "kernel: " + machine.kernel,
                       "LibTorch: " + machine.libtorch_version, "threads: " + std::to_string(machine.threads),
                       "compiler: " + machine.compiler}}}};
}

std::optional<Section> configs_section(const LabReport& report) {
  if (report.configs.empty()) return std::nullopt;
  Section section{"Configurations", {}};
  for (const auto& config : report.configs) section.blocks.push_back(CodeBlock{config.name, config.format, config.text});
  return section;
}

}  // namespace

Document lab_document(const LabReport& report, const fs::path& run_dir) {
  Document document{report.title, {summary_section(report)}};
  auto append = [&](std::optional<Section> section) {
    if (section) document.sections.push_back(std::move(*section));
  };
  append(protocol_section(report));
  append(baseline_section(report));
  append(quantization_section(report));
  append(pruning_section(report));
  append(figures_section(report, run_dir));
  append(stages_section(report));
  if (report.machine) document.sections.push_back(machine_section(*report.machine));
  append(configs_section(report));
  if (!report.notes.empty()) {
    Section notes{"Notes", {}};
    for (const auto& note : report.notes) notes.blocks.push_back(Paragraph{note});
    document.sections.push_back(std::move(notes));
  }
  return document;
}

LabReportFiles write_lab_report(const LabReport& report, const fs::path& run_dir) {
  Document document = lab_document(report, run_dir);
  LabReportFiles files{run_dir / "report.md", run_dir / "report.html"};
  write_file_atomically(files.markdown, to_markdown(document));
  write_file_atomically(files.html, to_html(document));
  return files;
}

Figure draw_size_figure(const LabReport& report, const fs::path& base) {
  auto kib = [](int64_t bits) { return static_cast<double>(bits) / 8.0 / 1024.0; };
  std::vector<Series> families;
  auto add_point = [](Series& series, double x, double y, std::string label) {
    series.points.emplace_back(x, y);
    series.labels.push_back(std::move(label));
  };
  if (report.baseline_size && report.baseline_accuracy && report.baseline_size->linear > 0) {
    Series baseline{"float32 baseline", {}};
    add_point(baseline, kib(report.baseline_size->linear), *report.baseline_accuracy, "fp32");
    families.push_back(std::move(baseline));
  }
  Series ptq{"PTQ", {}}, qat{"QAT", {}};
  for (const auto& row : report.quantization) {
    if (!row.size || row.size->linear <= 0) continue;
    std::string label = "w" + std::to_string(row.width);
    if (row.ptq_accuracy) add_point(ptq, kib(row.size->linear), *row.ptq_accuracy, label);
    if (row.qat_accuracy) add_point(qat, kib(row.size->linear), *row.qat_accuracy, label);
  }
  families.push_back(std::move(ptq));
  families.push_back(std::move(qat));
  std::vector<std::string> methods;
  for (const auto& row : report.pruning) {
    if (std::find(methods.begin(), methods.end(), row.method) == methods.end()) methods.push_back(row.method);
  }
  for (const auto& method : methods) {
    Series pruned{"pruned, " + method_display_name(method), {}};
    for (const auto& row : report.pruning) {
      if (row.method != method || !row.size || row.size->linear <= 0 || !row.best_accuracy) continue;
      add_point(pruned, kib(row.size->linear), *row.best_accuracy, "s" + format("%g", row.sparsity));
    }
    families.push_back(std::move(pruned));
  }

  LinePlot plot{"Accuracy against the storage of the Linear layers", "Linear layers (KiB, log scale)", "accuracy",
                {}, {}, {}};
  plot.log_x = true;
  for (auto& series : families) {
    if (series.points.empty()) continue;
    // Drawn from small to large, labels kept with their points.
    std::vector<std::size_t> order(series.points.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return series.points[a].first < series.points[b].first; });
    Series sorted{series.name, {}};
    for (std::size_t i : order) add_point(sorted, series.points[i].first, series.points[i].second, series.labels[i]);
    plot.series.push_back(std::move(sorted));
  }
  if (plot.series.empty()) throw Error("size figure: no result has both a model size and an accuracy");
  draw(plot, base);
  return {"Accuracy against the storage of the Linear layers (weights kept × their width, biases × theirs); "
          "PTQ/QAT points labelled with the width, pruned points with the sparsity",
          base};
}

}  // namespace whittle::report
