#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
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

data::Split parse_split(const std::string& name) {
  if (name == "test") return data::Split::test;
  if (name == "train") return data::Split::train;
  throw Error("--split must be train or test, got '" + name + "'");
}

void run_eval(const EvalArguments& arguments) {
  arguments.data.validate();
  if (arguments.batch_size < 1) throw Error("--batch-size must be at least 1, got " + std::to_string(arguments.batch_size));
  data::Split split = parse_split(arguments.split);
  auto loaded = experiments::load_compressed(arguments.from, arguments.data.seed);
  if (!loaded.initialised.empty()) {
    throw Error(arguments.from + " has no trained classifier (missing " + loaded.initialised.front() + ")");
  }
  if (loaded.model->config().max_position_embeddings < arguments.data.max_length) {
    // Longer inputs would index past the position embeddings deep inside the model.
    throw Error("--max-length " + std::to_string(arguments.data.max_length) + " is longer than the model's " +
                "max_position_embeddings (" + std::to_string(loaded.model->config().max_position_embeddings) + ")");
  }
  text::Tokenizer tokenizer = text::Tokenizer::load(resolve_tokenizer_dir(arguments.data, arguments.from));
  auto dataset = load_split(arguments.data, split, arguments.limit, tokenizer);
  auto result = train::evaluate(loaded.model, dataset, {arguments.batch_size, 32}, std::cerr);
  if (!arguments.predictions.empty()) write_file_atomically(arguments.predictions, predictions_jsonl(result, dataset));
  std::cout << nlohmann::json({{"split", arguments.split},
                               {"examples", result.examples},
                               {"accuracy", result.accuracy},
                               {"loss", result.loss},
                               {"seconds", result.seconds},
                               {"tokens_per_second", result.tokens_per_second}})
                   .dump()
            << std::endl;
}

}  // namespace

void register_eval_command(CLI::App& app) {
  auto arguments = std::make_shared<EvalArguments>();
  CLI::App* command = app.add_subcommand("eval", "evaluate a classifier checkpoint on IMDb");
  command->add_option("--from", arguments->from, "checkpoint directory")->required();
  arguments->data.add_to(*command);
  command->add_option("--split", arguments->split, "train or test")->capture_default_str();
  command->add_option("--limit", arguments->limit, "balanced subset of the split (0 = all)");
  command->add_option("--batch-size", arguments->batch_size, "evaluation batch size")->capture_default_str();
  command->add_option("--predictions", arguments->predictions, "write one JSON line per example: logits, label, prediction");
  command->callback([arguments] { run_eval(*arguments); });
}

}  // namespace whittle::cli
