#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "experiments/train_with_evaluation.h"
#include "cli/options.h"
#include "experiments/compressed_model.h"
#include "train/evaluate.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

struct EvalArguments {
  std::string from;
  DataOptions data;
  std::string split = "test";
  int64_t limit = 0;
  int64_t batch_size = 32;
  std::string predictions;
};

void run_eval(const EvalArguments& arguments) {
  arguments.data.validate();
  validate_limit("--limit", arguments.limit);
  require_at_least_one("--batch-size", arguments.batch_size);
  data::Split split = parse_split(arguments.split);
  auto loaded = experiments::load_compressed(arguments.from, arguments.data.seed);
  require_trained_classifier(loaded, arguments.from);
  require_max_length_fits(arguments.data.max_length, loaded.model->config().max_position_embeddings);
  text::Tokenizer tokenizer = text::Tokenizer::load(resolve_tokenizer_dir(arguments.data, arguments.from));
  auto dataset = load_split(arguments.data, split, arguments.limit, tokenizer);
  auto result = train::evaluate(loaded.model, dataset, {arguments.batch_size, 32}, std::cerr);
  if (!arguments.predictions.empty()) write_file_atomically(arguments.predictions, predictions_jsonl(result, dataset));
  nlohmann::json summary = experiments::to_json(result);
  summary["split"] = arguments.split;
  print_json_line(summary);
}

}  // namespace

void register_eval_command(CLI::App& app) {
  auto [command, arguments] =
      add_command<EvalArguments>(app, "eval", run_eval, "evaluate a classifier checkpoint on IMDb");
  add_from_option(*command, arguments->from, "checkpoint directory");
  arguments->data.add_to(*command);
  command->add_option("--split", arguments->split, "train or test")->capture_default_str();
  command->add_option("--limit", arguments->limit, "balanced subset of the split (0 = all)");
  command->add_option("--batch-size", arguments->batch_size, "evaluation batch size")->capture_default_str();
  command->add_option("--predictions", arguments->predictions, "write one JSON line per example: logits, label, prediction");
}

}  // namespace whittle::cli
