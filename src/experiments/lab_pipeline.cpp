#include "experiments/lab_pipeline.h"

#include <chrono>
#include <functional>
#include <thread>
#include <ostream>

#include "experiments/compressed_model.h"
#include "experiments/lab_report_writer.h"
#include "experiments/lora_training.h"
#include "experiments/mixed/mixed_search.h"
#include "experiments/prune_sweep.h"
#include "experiments/quant_sweep.h"
#include "experiments/stage_book.h"
#include "experiments/train_with_evaluation.h"
#include "model/bert_config.h"
#include "model/classifier_io.h"
#include "model/reinitialize.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/file_lock.h"
#include "util/progress.h"
#include "util/temporaries.h"
#include "util/time_limit.h"

namespace whittle::experiments {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Where each stage leaves its model, known before the stage runs so that a
// resumed run finds the outputs of the stages it skips.
struct LabPaths {
  fs::path run;
  const LabConfig& config;

  fs::path base_model() const { return config.base.finetune ? run / "base" / "model" : config.base.model; }
  fs::path lora_model() const { return config.lora.enabled ? run / "lora" / "model" : base_model(); }
  fs::path quantize_dir() const { return run / "quantize"; }
  fs::path best_qat_model() const { return quantize_dir() / "models" / "best-qat"; }
  fs::path prune_dir() const { return run / "prune"; }
  fs::path mixed_dir() const { return run / "mixed"; }
};

// Who runs a stage when several processes share the lab.
enum class StageSharing {
  one_process,    // whichever claims it; the others wait for its record
  all_processes,  // a sweep: its points are shared
  first_process,  // shard 0 alone; the others skip it
};

struct Stage {
  std::string name;
  std::string description;
  double work;  // estimated cost in token-forward passes, for the ETA
  std::function<json()> run;
  StageSharing sharing = StageSharing::one_process;
};

constexpr std::chrono::seconds kStagePollInterval{5};

// The claim to run `stage`, once no other process holds it; none if another
// process recorded it meanwhile. A claim ends with its process, so a stage
// whose process was killed is taken over here.
std::optional<FileLock> wait_for_stage_turn(StageBook& book, const fs::path& run_dir, const std::string& stage,
                                            const LabInputs& inputs, std::ostream& log) {
  fs::create_directories(run_dir / "stages.claims");
  bool told = false;
  while (true) {
    book.refresh();
    if (book.done(stage)) return std::nullopt;
    if (auto claim = FileLock::try_acquire(run_dir / "stages.claims" / (stage + ".lock"))) {
      book.refresh();
      if (book.done(stage)) return std::nullopt;
      return claim;
    }
    if (inputs.deadline && std::chrono::steady_clock::now() >= *inputs.deadline) {
      throw TimeLimitReached("the lab reached its time limit while another process ran the " + stage +
                             " stage; run the same command again to resume");
    }
    if (!told) log << stage << ": another process is running this stage; waiting for it\n";
    told = true;
    std::this_thread::sleep_for(kStagePollInterval);
  }
}

double stage_training_work(const LabInputs& inputs, const train::TrainOptions& options) {
  return training_work(inputs.train_set, inputs.test_set, options.epochs);
}

train::EvalOptions eval_options(const LabConfig& config) { return {config.eval_batch_size, 32}; }

json base_stage(const LabConfig& config, const LabInputs& inputs, const LabPaths& paths, std::ostream& log) {
  model::BertForSequenceClassification model{nullptr};
  json notes = {{"lab_base", {{"training", to_json(config.base.finetune_options)}}}};
  if (config.base.model.empty()) {
    if (config.base.config.empty()) throw Error("base.config must name a config.json for a random initialisation");
    model = model::new_classifier(model::load_bert_config(config.base.config), config.base.finetune_options.seed);
    notes["lab_base"]["from"] = "random initialisation of " + config.base.config.string();
    log << "base: random initialisation of " << config.base.config.string() << "\n";
  } else {
    model = load_compressed(config.base.model, config.base.finetune_options.seed).model;
    notes["lab_base"]["from"] = config.base.model.string();
    log << "base: fine-tuning " << config.base.model.string() << "\n";
    if (config.base.reinit_query_key > 0) {
      notes["lab_base"]["reinitialised"] = model::reinitialize_top_layers(
          model, {config.base.reinit_query_key, model::ReinitScope::query_key, config.base.finetune_options.seed});
      log << "base: attention query/key of the top " << config.base.reinit_query_key << " layer(s) drawn anew\n";
    }
  }
  auto outcome = train_with_evaluation(model, inputs.train_set, inputs.test_set, config.base.finetune_options,
                                       eval_options(config), log);
  model::assign_tensors(*model, outcome.best_state, {});
  notes["lab_base"]["epochs"] = outcome.epochs;
  save_compressed(paths.base_model(), model, notes, inputs.tokenizer_dir);
  return {{"model", paths.base_model().string()}, {"accuracy", outcome.best_accuracy}, {"epochs", outcome.epochs}};
}

// Every process of a shared lab waits for each sweep to be complete, since
// the next stage starts from its results.
SweepSetup sweep_setup(const LabConfig& config, const LabInputs& inputs, const fs::path& base_model,
                       const fs::path& out_dir) {
  return {base_model,         out_dir,      eval_options(config), inputs.data_description, inputs.sweep_workers,
          inputs.deadline,    inputs.shard, inputs.shard.count > 1};
}

json lora_stage(const LabConfig& config, const LabInputs& inputs, const LabPaths& paths, std::ostream& log) {
  LoraTrainingRequest request{paths.base_model(), config.lora.adapter, "lora", config.lora.training, eval_options(config)};
  return train_lora_and_fuse(request, inputs.train_set, inputs.test_set, paths.lora_model(), inputs.tokenizer_dir, log);
}

json quantize_stage(const LabConfig& config, const LabInputs& inputs, const LabPaths& paths, std::ostream& log) {
  QuantSweepOptions options{sweep_setup(config, inputs, paths.lora_model(), paths.quantize_dir())};
  options.tokenizer_dir = inputs.tokenizer_dir;
  options.widths = config.quant_widths;
  options.qat = config.qat;
  return to_json(run_quant_sweep(options, inputs.train_set, inputs.test_set, log));
}

json prune_stage(const LabConfig& config, const LabInputs& inputs, const LabPaths& paths, std::ostream& log) {
  if (!fs::exists(paths.best_qat_model())) {
    throw Error("the pruning stage starts from the best QAT model, " + paths.best_qat_model().string() +
                ", which is missing: rerun the quantize stage (delete its entry in stages.json)");
  }
  PruneSweepOptions options{sweep_setup(config, inputs, paths.best_qat_model(), paths.prune_dir())};
  options.sparsities = config.sparsities;
  options.methods = config.prune_methods;
  options.prune_activations = config.prune_activations;
  options.finetune = config.prune_finetune;
  run_prune_sweep(options, inputs.train_set, inputs.test_set, log);  // complete: the lab's processes wait for it
  return {{"results", (paths.prune_dir() / "results.json").string()}};
}

// The search is sequential: one process runs it, the others wait for its record.
json mixed_stage(const LabConfig& config, const LabInputs& inputs, const LabPaths& paths, std::ostream& log) {
  MixedSearchOptions options{sweep_setup(config, inputs, paths.lora_model(), paths.mixed_dir())};
  options.shard = {};
  options.wait_for_others = false;
  options.tokenizer_dir = inputs.tokenizer_dir;
  options.budget_points = config.mixed.budget_points;
  options.validation_size = config.mixed.validation_size;
  options.validation_seed = config.data.seed;
  options.widths = config.mixed.widths;
  options.input_width = config.mixed.input_width;
  options.refine_evaluations = config.mixed.refine_evaluations;
  options.front_points = config.mixed.front_points;
  options.qat = config.mixed.training;
  options.qat_train_limit = config.mixed.qat_train_limit;
  json summary = to_json(run_mixed_search(options, inputs.train_set, inputs.test_set, log));
  summary.erase("formats");
  summary["config"] = (paths.mixed_dir() / "mixed-config.toml").string();
  return summary;
}

// Sensitivity, uniform references and search evaluations on the validation
// set, one epoch of QAT, and the test-split report.
double mixed_stage_work(const LabConfig& config, const LabInputs& inputs) {
  const double train_tokens = static_cast<double>(inputs.train_set.total_tokens());
  const double per_review = inputs.train_set.size() > 0 ? train_tokens / static_cast<double>(inputs.train_set.size()) : 0.0;
  const double validation = per_review * static_cast<double>(config.mixed.validation_size);
  const double widths = static_cast<double>(config.mixed.widths.size());
  const double evaluations = 44.0 * widths + 2.0 * widths + 20.0 + static_cast<double>(config.mixed.refine_evaluations);
  const double test = static_cast<double>(inputs.test_set.total_tokens());
  return evaluations * validation + static_cast<double>(config.mixed.training.epochs) * 3.0 * train_tokens + 9.0 * test;
}

std::vector<Stage> lab_stages(const LabConfig& config, const LabInputs& inputs, const LabPaths& paths,
                              StageBook& book, std::ostream& log) {
  double test = static_cast<double>(inputs.test_set.total_tokens());
  double widths = static_cast<double>(config.quant_widths.size());
  double prune_points = static_cast<double>(config.sparsities.size() * config.prune_methods.size());
  // Pruned models cannot skip the last layer's non-[CLS] rows: about twice the work.
  double prune_factor = config.prune_activations ? 2.0 : 1.0;
  std::vector<Stage> stages;
  if (config.base.finetune) {
    stages.push_back({"base", "fine-tune the base model", stage_training_work(inputs, config.base.finetune_options),
                      [&] { return base_stage(config, inputs, paths, log); }});
  }
  if (config.lora.enabled) {
    stages.push_back({"lora", "LoRA fine-tuning, then fusion", stage_training_work(inputs, config.lora.training),
                      [&] { return lora_stage(config, inputs, paths, log); }});
  }
  stages.push_back({"quantize", "PTQ and QAT sweep", test * (1 + widths) + widths * stage_training_work(inputs, config.qat),
                    [&] { return quantize_stage(config, inputs, paths, log); }, StageSharing::all_processes});
  stages.push_back({"prune", "random and L1-norm pruning sweep",
                    prune_points * prune_factor * (test + stage_training_work(inputs, config.prune_finetune)),
                    [&] { return prune_stage(config, inputs, paths, log); }, StageSharing::all_processes});
  if (config.mixed.enabled) {
    stages.push_back({"mixed", "mixed-precision search within the accuracy budget", mixed_stage_work(config, inputs),
                      [&] { return mixed_stage(config, inputs, paths, log); }});
  }
  stages.push_back({"report", "report.md, report.html, size figure", 0.0, [&] {
                      book.refresh();
                      return write_lab_report(config, paths.run, book.entries(), log);
                    }, StageSharing::first_process});
  return stages;
}

// A run directory belongs to one config: resuming it with another would mix results.
void claim_run_directory(const fs::path& run_dir, const LabConfig& config) {
  fs::create_directories(run_dir);
  // What processes killed mid-write left (half-saved models) goes first.
  remove_stale_temporaries(run_dir);
  fs::path recorded_path = run_dir / "lab-config.json";
  json identity = {{"profile", config.profile}, {"config", config.resolved}};
  if (fs::exists(recorded_path)) {
    json recorded = json::parse(read_file(recorded_path), nullptr, false);
    if (recorded != identity) {
      std::string differing;
      for (const auto& [key, value] : identity["config"].items()) {
        if (!recorded.is_object() || recorded.value("config", json::object()).value(key, json()) != value) {
          differing += (differing.empty() ? "" : ", ") + key;
        }
      }
      if (recorded.is_object() && recorded.value("profile", "") != config.profile) differing += " profile";
      throw Error(run_dir.string() + " holds a lab run with another config (differs in: " +
                  (differing.empty() ? "unknown" : differing) + "); choose another --out, or delete it to start over");
    }
    return;
  }
  write_file_atomically(recorded_path, identity.dump(2) + "\n");
}

}  // namespace

// Shorter stages did not do their work in this run (see run_lab).
constexpr double kShortestMeasuredStageSeconds = 1.0;

LabOutcome run_lab(const LabConfig& config, const LabInputs& inputs, const fs::path& run_dir, std::ostream& log) {
  claim_run_directory(run_dir, config);
  StageBook book(run_dir / "stages.json");
  LabPaths paths{run_dir, config};
  std::vector<Stage> stages = lab_stages(config, inputs, paths, book, log);

  double remaining_work = 0.0;
  for (const auto& stage : stages) {
    if (!book.done(stage.name) || stage.name == "report") remaining_work += stage.work;
  }
  double measured_seconds = 0.0, measured_work = 0.0;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const Stage& stage = stages[i];
    std::string label = "[lab " + std::to_string(i + 1) + "/" + std::to_string(stages.size()) + "] " + stage.name;
    // The report is cheap and reflects every stage, so it is always redrawn.
    book.refresh();
    if (book.done(stage.name) && stage.name != "report") {
      log << label << (inputs.shard.count > 1 ? ": done, skipped\n" : ": done in an earlier run, skipped\n");
      continue;
    }
    std::optional<FileLock> turn;
    if (inputs.shard.count > 1 && stage.sharing == StageSharing::first_process && inputs.shard.index != 0) {
      log << label << ": left to shard 0\n";
      continue;
    }
    if (inputs.shard.count > 1 && stage.sharing == StageSharing::one_process) {
      turn = wait_for_stage_turn(book, run_dir, stage.name, inputs, log);
      if (!turn) {
        log << label << ": done by another process\n";
        continue;
      }
    }
    if (inputs.deadline && std::chrono::steady_clock::now() >= *inputs.deadline && stage.name != "report") {
      throw TimeLimitReached("the lab reached its time limit before the " + stage.name +
                             " stage; what it finished is saved: run the same command again to resume");
    }
    std::string eta;
    if (measured_work > 0.0) eta = ", lab ETA " + format_duration(measured_seconds / measured_work * remaining_work);
    log << label << ": " << stage.description << eta << "\n";
    auto start = std::chrono::steady_clock::now();
    json summary = stage.run();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    book.record(stage.name, summary, seconds);
    remaining_work -= stage.work;
    // A sweep whose points were all finished before (or by another process)
    // returns at once: its work was not done here, and counting it would
    // promise an ETA of seconds for the stages after it.
    if (seconds >= kShortestMeasuredStageSeconds) {
      measured_seconds += seconds;
      measured_work += stage.work;
    }
    log << label << ": finished in " << format_duration(seconds) << "\n";
  }
  LabOutcome outcome;
  outcome.stages = book.entries();
  outcome.report_markdown = run_dir / "report.md";
  outcome.report_html = run_dir / "report.html";
  return outcome;
}

}  // namespace whittle::experiments
