#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/machine.h"

namespace whittle::report {

// Storage of a model in bits (experiments::ModelSize gives both numbers).
struct ModelBits {
  int64_t linear = 0;  // the Linear layers: what quantization and pruning shrink
  int64_t total = 0;   // the whole model, embeddings and LayerNorms at 32 bits
};

struct LoraResult {
  std::string description;  // e.g. "rank 8 on query and value"
  double accuracy_after = 0.0;
  int64_t trainable_parameters = 0;
  int64_t total_parameters = 0;
};

// One width of the quantization sweep (results.json "ptq/wW" and "qat/wW").
struct QuantRow {
  int64_t width = 0;
  int64_t frac_width = 0;
  std::optional<double> ptq_accuracy;
  std::optional<double> qat_accuracy;
  std::optional<ModelBits> size;
};

// One point of the pruning sweep (results.json "<method>/s<sparsity>").
struct PruneRow {
  std::string method;  // "random", "l1-norm"
  double sparsity = 0.0;
  std::optional<double> accuracy_after_pruning;
  std::optional<double> best_accuracy;      // the best of after pruning and each fine-tuning epoch
  std::optional<double> final_accuracy;     // after the last fine-tuning epoch
  std::optional<double> measured_sparsity;  // zeros of the effective weights
  std::optional<ModelBits> size;
};

// What a published number measures, so that the report can put whittle's own
// result for the same thing beside it.
enum class ReferenceMeasure {
  lora_fused,           // float32 after LoRA fine-tuning, adapters fused
  before_quantization,  // the float32 model the quantization sweep starts from
  ptq,                  // post-training quantization at `width`
  qat,                  // quantization-aware training at `width`
  after_pruning,        // `method` at `sparsity`, right after pruning
  pruned_best,          // the same, the highest accuracy reached while fine-tuning
  pruned_final,         // the same, after the last fine-tuning epoch
};

// One published accuracy and the file that shows it.
struct ReferenceNumber {
  ReferenceMeasure measure = ReferenceMeasure::lora_fused;
  int64_t width = 0;      // ptq, qat
  std::string method;     // the pruned measures: as PruneRow::method
  double sparsity = 0.0;  // the pruned measures
  double accuracy = 0.0;
  std::string source;     // repository, commit or path, and file
};

// A set of published numbers, shown as a column of its own.
struct ReferenceResults {
  std::string name;     // column heading
  std::string setting;  // the model and protocol that produced them
  std::vector<ReferenceNumber> numbers;
};

// The training recipe of one lab stage, as the report states it.
struct StageProtocol {
  std::string stage;  // "LoRA", "QAT", "pruning fine-tune"
  int64_t epochs = 0;
  int64_t batch_size = 0;
  double learning_rate = 0.0;
  double weight_decay = 0.0;
  double warmup_ratio = 0.0;
  double max_grad_norm = 0.0;
  std::string trains;      // which parameters, e.g. "all but the embeddings"
  std::string evaluation;  // when the test split is evaluated
};

struct StageTiming {
  std::string name;
  double seconds = 0.0;  // wall-clock time of the run that finished the stage
  bool ran = true;   // false: skipped, its results were already there
  std::string note;  // e.g. "resumed: 3 of 11 points run"
  // Training and evaluation time recorded in the stage's results, summed
  // over every run and process that measured a part of it: unlike `seconds`
  // it does not forget the runs before a resume.
  std::optional<double> measured_seconds;
  // Wall-clock time over every run: the longer of `seconds` and the time
  // during which at least one of the stage's points was running. Points
  // that ran side by side count once; time lost in a killed point does not count.
  std::optional<double> wall_seconds_all_runs;
};

struct ConfigText {
  std::string name;    // the file name or the role, "quantize.toml"
  std::string format;  // "toml", "json"
  std::string text;
};

// A figure drawn by report::draw: `<base>.png` and `<base>.svg`. A relative
// base is relative to the run directory.
struct Figure {
  std::string caption;
  std::filesystem::path base;
};

// Everything a finished lab run reports, as plain data.
struct LabReport {
  std::string title = "whittle lab report";
  std::string model;  // the base model, e.g. "BERT-Tiny fine-tuned from a random initialisation (runs/x/model)"
  std::string data;   // e.g. "IMDb, 25,000 test reviews"
  std::string created;  // when, as the caller wants it shown; empty: not shown
  std::optional<double> baseline_accuracy;
  std::optional<ModelBits> baseline_size;
  std::optional<LoraResult> lora;
  std::vector<QuantRow> quantization;
  std::vector<PruneRow> pruning;
  std::vector<ReferenceResults> references;  // one column each
  std::vector<StageProtocol> protocol;      // how each training stage trained
  std::vector<ConfigText> configs;
  std::vector<StageTiming> stages;
  std::optional<MachineDescription> machine;
  std::vector<Figure> figures;
  std::vector<std::string> notes;  // paragraphs at the end
};

// "L1-norm" for "l1-norm", "random" otherwise unchanged.
std::string method_display_name(const std::string& method);

// A sparsity as the report prints it, "0.50".
std::string sparsity_text(double sparsity);

}  // namespace whittle::report
