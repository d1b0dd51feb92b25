#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "cli/train_flags.h"
#include "experiments/mixed/mixed_search.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

struct SearchQuantArguments {
  std::string from;
  std::string out;
  ExperimentData data;
  int workers = 1;
  std::optional<double> time_limit_minutes;
  TrainFlags training;
  experiments::MixedSearchOptions search;
  bool skip_qat = false;
  bool skip_test = false;
};

// The search's QAT follows the lab's: Mase's fine-tuning defaults with the
// embeddings frozen.
train::TrainOptions search_qat_defaults() {
  train::TrainOptions defaults = mase_finetune_defaults();
  defaults.freeze_embeddings = true;
  return defaults;
}

void run_search_quant(const SearchQuantArguments& arguments) {
  refuse_ranks("search quant");
  arguments.data.validate();
  train::TrainOptions qat = arguments.training.resolve(search_qat_defaults(), arguments.data.source.seed);
  experiments::MixedSearchOptions options = arguments.search;
  static_cast<experiments::SweepSetup&>(options) = {arguments.from,
                                                   arguments.out,
                                                   arguments.data.eval_options(qat.length_multiple),
                                                   arguments.data.describe(),
                                                   arguments.workers,
                                                   deadline_after(arguments.time_limit_minutes),
                                                   {}};
  options.qat = qat;
  options.run_qat = !arguments.skip_qat;
  options.evaluate_test = !arguments.skip_test;
  options.validate();
  options.tokenizer_dir = resolve_tokenizer_dir(arguments.data.source, arguments.from);
  text::Tokenizer tokenizer = text::Tokenizer::load(options.tokenizer_dir);
  data::TokenizedDataset train_set = arguments.data.load(data::Split::train, tokenizer);
  data::TokenizedDataset test_set;
  if (options.evaluate_test) test_set = arguments.data.load(data::Split::test, tokenizer);
  auto summary = experiments::run_mixed_search(options, train_set, test_set, std::cerr);
  nlohmann::json printed = experiments::to_json(summary);
  printed.erase("formats");
  printed["config"] = (options.out_dir / "mixed-config.toml").string();
  printed["results"] = (options.out_dir / "results.json").string();
  print_json_line(printed);
}

void add_search_flags(CLI::App& command, SearchQuantArguments& arguments) {
  auto& search = arguments.search;
  command.add_option("--budget-points", search.budget_points,
                     "accuracy points below float allowed on the validation set")
      ->capture_default_str();
  command.add_option("--widths", search.widths, "candidate widths of weights and biases (and of the sensitivity table)")
      ->delimiter(',')
      ->capture_default_str();
  command.add_option("--input-width", search.input_width, "width of every Linear input (8 keeps int8 kernels)")
      ->capture_default_str();
  command.add_option("--validation-size", search.validation_size, "reviews carved out of the train split")
      ->capture_default_str();
  command.add_option("--validation-seed", search.validation_seed, "seed of the validation split")->capture_default_str();
  command.add_option("--sensitivity-size", search.sensitivity_size,
                     "validation reviews of the sensitivity table (a balanced subset)")
      ->capture_default_str();
  command.add_option("--calibration-size", search.calibration_size,
                     "validation reviews that choose the inputs' frac widths")
      ->capture_default_str();
  command.add_option("--fisher-size", search.fisher_size, "validation reviews of the one-pass Fisher ranking")
      ->capture_default_str();
  command.add_option("--refine-evaluations", search.refine_evaluations,
                     "measured single-width steps after the greedy path")
      ->capture_default_str();
  command.add_option("--front-points", search.front_points, "extra greedy-path points measured for the Pareto front")
      ->capture_default_str();
  command.add_flag("--no-qat", arguments.skip_qat, "skip the short QAT of the chosen widths");
  command.add_option("--qat-train-limit", search.qat_train_limit,
                     "balanced subset of the train split (without validation) for QAT; 0 = all")
      ->capture_default_str();
  command.add_flag("--no-test", arguments.skip_test, "do not evaluate the final models on the test split");
  command.add_option("--test-uniform-widths", search.test_uniform_widths,
                     "uniform widths evaluated on the test split beside the mixed model")
      ->delimiter(',')
      ->capture_default_str();
}

}  // namespace

void register_search_command(CLI::App& app) {
  CLI::App* search = app.add_subcommand("search", "searches for compressed configurations");
  search->require_subcommand(1);
  auto [command, arguments] = add_command<SearchQuantArguments>(
      *search, "quant", run_search_quant,
      "mixed precision: per-tensor widths that minimise the Linear layers' bits within an accuracy budget");
  add_from_option(*command, arguments->from, "float checkpoint to start from (e.g. the lab's lora/model)");
  add_out_option(*command, arguments->out, "search directory (results, config, figures, models); resumes if it exists");
  add_search_flags(*command, *arguments);
  arguments->data.add_to(*command);
  add_workers_option(*command, arguments->workers);
  add_time_limit_option(*command, arguments->time_limit_minutes);
  arguments->training.add_to(*command, search_qat_defaults(), "qat-");
}

}  // namespace whittle::cli
