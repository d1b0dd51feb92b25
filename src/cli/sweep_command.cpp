#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "cli/train_flags.h"
#include "experiments/prune_sweep.h"
#include "experiments/quant_sweep.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

// The flags both sweeps take: where they start and write, the data, the
// workers and the fine-tuning each point runs.
struct SweepArguments {
  std::string from;
  std::string out;
  ExperimentData data;
  int workers = 1;
  std::optional<double> time_limit_minutes;
  std::optional<std::string> shard;
  TrainFlags training;
};

// What --help says of one sweep and its places, and the prefix of its
// fine-tuning flags ("qat-": --qat-lr, ...).
struct SweepHelp {
  std::string description;
  std::string from;
  std::string out;
  std::string training_prefix;
};

// Adds one sweep. --from and --out lead its help, `add_own_flags` adds the
// sweep's own flags, and the data, worker and fine-tuning flags follow.
template <typename Arguments>
void add_sweep(CLI::App& sweep, const std::string& name, void (*run)(const Arguments&), const SweepHelp& help,
               void (*add_own_flags)(CLI::App&, Arguments&)) {
  auto [command, arguments] = add_command<Arguments>(sweep, name, run, help.description);
  add_from_option(*command, arguments->from, help.from);
  add_out_option(*command, arguments->out, help.out);
  add_own_flags(*command, *arguments);
  arguments->data.add_to(*command);
  add_workers_option(*command, arguments->workers);
  add_time_limit_option(*command, arguments->time_limit_minutes);
  add_shard_option(*command, arguments->shard);
  arguments->training.add_to(*command, mase_finetune_defaults(), help.training_prefix);
}

// What both sweeps start from, out of the shared flags (validated first).
struct SweepStart {
  experiments::SweepSetup setup;
  train::TrainOptions training;
  std::filesystem::path tokenizer_dir;
  data::TokenizedDataset train_set;  // empty unless asked for
  data::TokenizedDataset test_set;
};

SweepStart start_sweep(const SweepArguments& arguments, bool with_train_set) {
  arguments.data.validate();
  SweepStart start;
  start.training = arguments.training.resolve(mase_finetune_defaults(), arguments.data.source.seed);
  start.setup = {arguments.from,
                 arguments.out,
                 arguments.data.eval_options(start.training.length_multiple),
                 arguments.data.describe(),
                 arguments.workers,
                 deadline_after(arguments.time_limit_minutes),
                 resolve_shard(arguments.shard)};
  start.tokenizer_dir = resolve_tokenizer_dir(arguments.data.source, arguments.from);
  text::Tokenizer tokenizer = text::Tokenizer::load(start.tokenizer_dir);
  start.test_set = arguments.data.load(data::Split::test, tokenizer);
  if (with_train_set) start.train_set = arguments.data.load(data::Split::train, tokenizer);
  return start;
}

struct QuantSweepArguments : SweepArguments {
  std::vector<int64_t> widths = experiments::default_quant_widths();
  std::optional<int64_t> frac_width;
  bool skip_qat = false;
};

void run_quant_sweep(const QuantSweepArguments& arguments) {
  SweepStart start = start_sweep(arguments, !arguments.skip_qat);
  experiments::QuantSweepOptions options{start.setup};
  options.widths = arguments.widths;
  options.frac_width = arguments.frac_width;
  options.run_qat = !arguments.skip_qat;
  options.qat = start.training;
  options.tokenizer_dir = start.tokenizer_dir;
  auto summary = experiments::run_quant_sweep(options, start.train_set, start.test_set, std::cerr);
  nlohmann::json printed = experiments::to_json(summary);
  printed["results"] = (options.out_dir / "results.json").string();
  print_json_line(printed);
}

void add_quant_sweep_flags(CLI::App& command, QuantSweepArguments& arguments) {
  command.add_option("--widths", arguments.widths, "fixed-point widths")->delimiter(',')->capture_default_str();
  command.add_option("--frac", arguments.frac_width, "fractional width for every width (default width/2)");
  command.add_flag("--no-qat", arguments.skip_qat, "PTQ only");
}

struct PruneSweepArguments : SweepArguments {
  std::vector<double> sparsities = experiments::default_sparsities();
  std::vector<std::string> methods = experiments::default_prune_methods();
  bool weights_only = false;
};

void run_prune_sweep(const PruneSweepArguments& arguments) {
  SweepStart start = start_sweep(arguments, true);
  experiments::PruneSweepOptions options{start.setup};
  options.sparsities = arguments.sparsities;
  options.methods = arguments.methods;
  options.prune_activations = !arguments.weights_only;
  options.finetune = start.training;
  const int64_t left = experiments::run_prune_sweep(options, start.train_set, start.test_set, std::cerr);
  print_json_line(nlohmann::json({{"results", (options.out_dir / "results.json").string()},
                                  {"complete", left == 0},
                                  {"points_left_to_other_processes", left}}));
}

void add_prune_sweep_flags(CLI::App& command, PruneSweepArguments& arguments) {
  command.add_option("--sparsities", arguments.sparsities, "sparsities")->delimiter(',')->capture_default_str();
  command.add_option("--methods", arguments.methods, "random, l1-norm")->delimiter(',')->capture_default_str();
  command.add_flag("--weights-only", arguments.weights_only, "do not prune the Linear inputs (the lab prunes both)");
}

}  // namespace

void register_sweep_command(CLI::App& app) {
  CLI::App* sweep = app.add_subcommand("sweep", "resumable sweeps that reproduce the lab's figures");
  sweep->require_subcommand(1);
  add_sweep<QuantSweepArguments>(
      *sweep, "quant", run_quant_sweep,
      {.description = "PTQ and QAT accuracy for each fixed-point width (lab task 1)", .from = "base checkpoint",
       .out = "sweep directory (results, figures, models); resumes if it exists", .training_prefix = "qat-"},
      add_quant_sweep_flags);
  add_sweep<PruneSweepArguments>(
      *sweep, "prune", run_prune_sweep,
      {.description = "accuracy per sparsity for random and L1-norm pruning (lab task 2)",
       .from = "start model: the best QAT model (quant sweep: models/best-qat)",
       .out = "sweep directory; resumes if it exists", .training_prefix = ""},
      add_prune_sweep_flags);
}

}  // namespace whittle::cli
