#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "cli/train_flags.h"
#include "experiments/compressed_model.h"
#include "experiments/lora_training.h"
#include "experiments/train_with_evaluation.h"
#include "passes/lora/lora_config.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

struct LoraArguments {
  std::string from;
  std::string out;
  std::string config;
  std::optional<int64_t> rank;
  std::optional<double> alpha;
  std::optional<double> dropout;
  ExperimentData data;
  TrainFlags training;
};

passes::LoraConfig lora_config(const LoraArguments& arguments) {
  bool any_flag = arguments.rank || arguments.alpha || arguments.dropout;
  if (!arguments.config.empty() && any_flag) {
    throw Error("give either --config FILE or --rank/--alpha/--dropout, not both");
  }
  if (!arguments.config.empty()) return passes::load_lora_config(arguments.config);
  return passes::lora_config_from_flags(arguments.rank, arguments.alpha, arguments.dropout);
}

// Mase's Tutorial 2 (adapters on, fine-tune evaluating each epoch, keep the
// best epoch, fuse, save a plain checkpoint), then the saved checkpoint is
// reloaded and evaluated: what is on disk is what gets measured.
void run_lora(const LoraArguments& arguments) {
  arguments.data.validate();
  passes::LoraConfig config = lora_config(arguments);
  train::TrainOptions options = arguments.training.resolve(mase_finetune_defaults(), arguments.data.source.seed);
  train::EvalOptions eval_options = arguments.data.eval_options(options.length_multiple);
  const bool writes_outputs = join_ranks_if_launched(options, eval_options);

  auto tokenizer_dir = resolve_tokenizer_dir(arguments.data.source, arguments.from);
  text::Tokenizer tokenizer = text::Tokenizer::load(tokenizer_dir);
  auto train_set = arguments.data.load(data::Split::train, tokenizer);
  auto test_set = arguments.data.load(data::Split::test, tokenizer);

  experiments::LoraTrainingRequest request{arguments.from, passes::to_json(config), config.origin, options,
                                           eval_options};
  nlohmann::json summary =
      experiments::train_lora_and_fuse(request, train_set, test_set, arguments.out, tokenizer_dir, std::cerr);
  if (writes_outputs) std::cerr << "saved " << arguments.out << "; evaluating it as saved\n";
  auto saved = experiments::load_compressed(arguments.out, options.seed);
  summary["saved_model_test"] = experiments::to_json(train::evaluate(saved.model, test_set, eval_options, std::cerr));
  if (summary.contains("parameters")) summary["parameters"].erase("layers");  // per layer: in whittle.json
  if (writes_outputs) print_json_line(summary);
}

}  // namespace

void register_lora_command(CLI::App& app) {
  auto [command, arguments] = add_command<LoraArguments>(app, "lora", run_lora,
      "LoRA fine-tuning: adapters on every encoder Linear and the pooler, classifier trained in full, "
      "evaluated each epoch, then fused into a plain checkpoint");
  add_from_option(*command, arguments->from,
                  "checkpoint directory: a classifier, or a pretrained encoder (gets a new head); plain weights");
  add_out_option(*command, arguments->out, "where to write the fused checkpoint");
  command->add_option("--config", arguments->config,
                      "LoRA config (TOML or JSON: rank, lora_alpha, lora_dropout, target_modules)");
  command->add_option("--rank", arguments->rank, "adapter rank (default 6)");
  command->add_option("--alpha", arguments->alpha, "adapter scale numerator, scaling = alpha / rank (default 1)");
  command->add_option("--dropout", arguments->dropout, "dropout on the adapter input while training (default 0.5)");
  arguments->data.add_to(*command);
  arguments->training.add_to(*command, mase_finetune_defaults());
}

}  // namespace whittle::cli
