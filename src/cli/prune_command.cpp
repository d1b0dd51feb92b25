#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "cli/train_flags.h"
#include "data/batching.h"
#include "experiments/compressed_model.h"
#include "experiments/train_with_evaluation.h"
#include "passes/prune/prune_config.h"
#include "passes/prune/prune_pass.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

struct PruneArguments {
  std::string from;
  std::string config;
  std::optional<double> sparsity;
  std::string method = "l1-norm";
  std::string scope = "local";
  bool weights_only = false;
  std::string out;
  ExperimentData data;
  TrainFlags training;
};

passes::PruneConfig prune_config(const PruneArguments& arguments) {
  if (!arguments.config.empty() && arguments.sparsity) throw Error("give either --config FILE or --sparsity S, not both");
  if (!arguments.config.empty()) return passes::load_prune_config(arguments.config);
  if (!arguments.sparsity) throw Error("say how to prune: --config P.toml or --sparsity S --method random|l1-norm");
  return passes::uniform_prune_config(*arguments.sparsity, passes::parse_prune_method(arguments.method, "--method"),
                                      passes::parse_prune_scope(arguments.scope, "--scope"), !arguments.weights_only);
}

// Global activation thresholds are fixed from one batch of training inputs.
std::optional<passes::PruneCalibration> calibration_for(const passes::PruneConfig& config,
                                                        const data::TokenizedDataset& train_set, int32_t pad_id) {
  if (!config.activation || config.activation->scope != passes::PruneScope::global) return std::nullopt;
  data::BatchOptions batching;
  auto plan = data::plan_batches(train_set, batching, 0);
  auto batch = data::make_batch(train_set, plan.front(), pad_id, batching.length_multiple);
  return passes::PruneCalibration{batch.input_ids, batch.attention_mask};
}

void run_prune(const PruneArguments& arguments) {
  arguments.data.validate();
  passes::PruneConfig config = prune_config(arguments);
  train::TrainOptions options = arguments.training.resolve(mase_finetune_defaults(), arguments.data.source.seed);
  train::EvalOptions eval_options = arguments.data.eval_options(options.length_multiple);
  const bool writes_outputs = join_ranks_if_launched(options, eval_options);

  auto loaded = experiments::load_compressed(arguments.from, options.seed);
  auto& model = loaded.model;
  auto tokenizer_dir = resolve_tokenizer_dir(arguments.data.source, arguments.from);
  text::Tokenizer tokenizer = text::Tokenizer::load(tokenizer_dir);
  auto train_set = arguments.data.load(data::Split::train, tokenizer);
  auto test_set = arguments.data.load(data::Split::test, tokenizer);

  auto pad_id = static_cast<int32_t>(model->config().pad_token_id);
  auto report = passes::prune_pass(model, config, options.seed, calibration_for(config, train_set, pad_id));
  for (const auto& layer : report.layers) std::cerr << "  " << layer.name << ": sparsity " << layer.sparsity() << "\n";
  std::cerr << "pruned: overall weight sparsity " << report.overall_sparsity() << "\n";
  auto after_pruning = train::evaluate(model, test_set, eval_options, std::cerr);
  auto outcome = experiments::train_with_evaluation(model, train_set, test_set, options, eval_options, std::cerr);
  model::assign_tensors(*model, outcome.best_state, {});
  nlohmann::json summary = {{"after_pruning", experiments::to_json(after_pruning)},
                            {"epochs", outcome.epochs},
                            {"best_epoch", outcome.best_epoch},
                            {"best_accuracy", std::max(after_pruning.accuracy, outcome.best_accuracy)},
                            {"overall_weight_sparsity", report.overall_sparsity()},
                            {"layers", passes::to_json(report)}};
  if (!writes_outputs) return;  // rank 0 saves the model every rank holds
  save_and_print_summary(arguments.out, model, loaded.whittle, "prune_command", std::move(summary), tokenizer_dir);
}

}  // namespace

void register_prune_command(CLI::App& app) {
  auto [command, arguments] = add_command<PruneArguments>(app, "prune", run_prune,
      "prune every Linear (unstructured), evaluate, fine-tune with the masks fixed, evaluate each epoch");
  add_from_option(*command, arguments->from, "checkpoint directory (quantized or not)");
  command->add_option("--config", arguments->config, "prune config (TOML or JSON, Mase's weight/activation sections)");
  command->add_option("--sparsity", arguments->sparsity, "fraction of weights (and inputs) to prune, in [0, 1)");
  command->add_option("--method", arguments->method, "random or l1-norm")->capture_default_str();
  command->add_option("--scope", arguments->scope, "local (per tensor) or global")->capture_default_str();
  command->add_flag("--weights-only", arguments->weights_only, "do not prune the Linear inputs (the lab prunes both)");
  add_out_option(*command, arguments->out, "where to write the pruned checkpoint");
  arguments->data.add_to(*command);
  arguments->training.add_to(*command, mase_finetune_defaults());
}

}  // namespace whittle::cli
