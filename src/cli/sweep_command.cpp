#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/train_flags.h"
#include "experiments/prune_sweep.h"
#include "experiments/quant_sweep.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

// The data and worker flags both sweeps take.
struct SweepData : ExperimentData {
  int workers = 1;
  std::optional<double> time_limit_minutes;

  void add_to(CLI::App& command) {
    ExperimentData::add_to(command);
    add_workers_option(command, workers);
    add_time_limit_option(command, time_limit_minutes);
  }
  experiments::SweepSetup setup(const std::string& from, const std::string& out, int64_t length_multiple) const {
    return {from, out, eval_options(length_multiple), describe(), workers, deadline_after(time_limit_minutes)};
  }
};

struct QuantSweepArguments {
  std::string from;
  std::string out;
  std::vector<int64_t> widths = experiments::default_quant_widths();
  std::optional<int64_t> frac_width;
  bool skip_qat = false;
  SweepData data;
  TrainFlags qat;
};

void run_quant_sweep(const QuantSweepArguments& arguments) {
  arguments.data.validate();
  auto qat = arguments.qat.resolve(mase_finetune_defaults(), arguments.data.source.seed);
  experiments::QuantSweepOptions options{arguments.data.setup(arguments.from, arguments.out, qat.length_multiple)};
  options.widths = arguments.widths;
  options.frac_width = arguments.frac_width;
  options.run_qat = !arguments.skip_qat;
  options.qat = qat;
  options.tokenizer_dir = resolve_tokenizer_dir(arguments.data.source, arguments.from);

  text::Tokenizer tokenizer = text::Tokenizer::load(options.tokenizer_dir);
  auto test_set = arguments.data.load(data::Split::test, tokenizer);
  data::TokenizedDataset train_set;
  if (options.run_qat) train_set = arguments.data.load(data::Split::train, tokenizer);
  auto summary = experiments::run_quant_sweep(options, train_set, test_set, std::cerr);
  nlohmann::json printed = experiments::to_json(summary);
  printed["results"] = (options.out_dir / "results.json").string();
  std::cout << printed.dump() << std::endl;
}

void register_quant_sweep(CLI::App& sweep) {
  auto arguments = std::make_shared<QuantSweepArguments>();
  CLI::App* command = sweep.add_subcommand("quant", "PTQ and QAT accuracy for each fixed-point width (lab task 1)");
  command->add_option("--from", arguments->from, "base checkpoint")->required();
  command->add_option("--out", arguments->out, "sweep directory (results, figures, models); resumes if it exists")
      ->required();
  command->add_option("--widths", arguments->widths, "fixed-point widths")->delimiter(',')->capture_default_str();
  command->add_option("--frac", arguments->frac_width, "fractional width for every width (default width/2)");
  command->add_flag("--no-qat", arguments->skip_qat, "PTQ only");
  arguments->data.add_to(*command);
  arguments->qat.add_to(*command, mase_finetune_defaults(), "qat-");
  command->callback([arguments] { run_quant_sweep(*arguments); });
}

struct PruneSweepArguments {
  std::string from;
  std::string out;
  std::vector<double> sparsities = experiments::default_sparsities();
  std::vector<std::string> methods = experiments::default_prune_methods();
  bool weights_only = false;
  SweepData data;
  TrainFlags finetune;
};

void run_prune_sweep(const PruneSweepArguments& arguments) {
  arguments.data.validate();
  auto finetune = arguments.finetune.resolve(mase_finetune_defaults(), arguments.data.source.seed);
  experiments::PruneSweepOptions options{arguments.data.setup(arguments.from, arguments.out, finetune.length_multiple)};
  options.sparsities = arguments.sparsities;
  options.methods = arguments.methods;
  options.prune_activations = !arguments.weights_only;
  options.finetune = finetune;
  text::Tokenizer tokenizer = text::Tokenizer::load(resolve_tokenizer_dir(arguments.data.source, arguments.from));
  auto test_set = arguments.data.load(data::Split::test, tokenizer);
  auto train_set = arguments.data.load(data::Split::train, tokenizer);
  experiments::run_prune_sweep(options, train_set, test_set, std::cerr);
  std::cout << nlohmann::json({{"results", (options.out_dir / "results.json").string()}}).dump() << std::endl;
}

void register_prune_sweep(CLI::App& sweep) {
  auto arguments = std::make_shared<PruneSweepArguments>();
  CLI::App* command = sweep.add_subcommand("prune", "accuracy per sparsity for random and L1-norm pruning (lab task 2)");
  command->add_option("--from", arguments->from, "start model: the best QAT model (quant sweep: models/best-qat)")
      ->required();
  command->add_option("--out", arguments->out, "sweep directory; resumes if it exists")->required();
  command->add_option("--sparsities", arguments->sparsities, "sparsities")->delimiter(',')->capture_default_str();
  command->add_option("--methods", arguments->methods, "random, l1-norm")->delimiter(',')->capture_default_str();
  command->add_flag("--weights-only", arguments->weights_only, "do not prune the Linear inputs (the lab prunes both)");
  arguments->data.add_to(*command);
  arguments->finetune.add_to(*command, mase_finetune_defaults());
  command->callback([arguments] { run_prune_sweep(*arguments); });
}

}  // namespace

void register_sweep_command(CLI::App& app) {
  CLI::App* sweep = app.add_subcommand("sweep", "resumable sweeps that reproduce the lab's figures");
  sweep->require_subcommand(1);
  register_quant_sweep(*sweep);
  register_prune_sweep(*sweep);
}

}  // namespace whittle::cli
