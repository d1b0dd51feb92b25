#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "cli/train_flags.h"
#include "experiments/compressed_model.h"
#include "experiments/train_with_evaluation.h"
#include "passes/quantize/quantize_config.h"
#include "passes/quantize/quantize_pass.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

struct QuantizeArguments {
  std::string from;
  std::string config;
  std::optional<int64_t> width;
  std::optional<int64_t> frac_width;
  std::string out;
  bool qat = false;
  ExperimentData data;
  TrainFlags training;
};

passes::QuantizeConfig quantize_config(const QuantizeArguments& arguments) {
  if (!arguments.config.empty() && arguments.width) throw Error("give either --config FILE or --width W, not both");
  if (arguments.frac_width && !arguments.width) throw Error("--frac needs --width");
  if (!arguments.config.empty()) return passes::load_quantize_config(arguments.config);
  if (!arguments.width) throw Error("say how to quantize: --config Q.toml or --width W [--frac F]");
  return passes::uniform_quantize_config(*arguments.width, arguments.frac_width);
}

void run_quantize(const QuantizeArguments& arguments) {
  arguments.data.validate();
  passes::QuantizeConfig config = quantize_config(arguments);
  train::TrainOptions options = arguments.training.resolve(mase_finetune_defaults(), arguments.data.source.seed);
  train::EvalOptions eval_options = arguments.data.eval_options(options.length_multiple);
  const bool writes_outputs = join_ranks_if_launched(options, eval_options);

  auto loaded = experiments::load_compressed(arguments.from, options.seed);
  auto& model = loaded.model;
  auto report = passes::quantize_pass(model, config);
  std::cerr << "quantized " << report.quantized_count() << " of " << report.layers.size() << " Linear layers\n";

  auto tokenizer_dir = resolve_tokenizer_dir(arguments.data.source, arguments.from);
  text::Tokenizer tokenizer = text::Tokenizer::load(tokenizer_dir);
  auto test_set = arguments.data.load(data::Split::test, tokenizer);
  auto ptq = train::evaluate(model, test_set, eval_options, std::cerr);
  nlohmann::json summary = {{"layers", passes::to_json(report)}, {"ptq", experiments::to_json(ptq)}};
  double best = ptq.accuracy;
  if (arguments.qat) {
    auto train_set = arguments.data.load(data::Split::train, tokenizer);
    auto outcome = experiments::train_with_evaluation(model, train_set, test_set, options, eval_options, std::cerr);
    model::assign_tensors(*model, outcome.best_state, {});
    summary["qat"] = {{"options", experiments::to_json(options)}, {"epochs", outcome.epochs}, {"best_epoch", outcome.best_epoch}};
    best = std::max(best, outcome.best_accuracy);
  }
  summary["best_accuracy"] = best;
  if (!writes_outputs) return;  // rank 0 saves the model every rank holds
  save_and_print_summary(arguments.out, model, loaded.whittle, "quantize_command", std::move(summary), tokenizer_dir);
}

}  // namespace

void register_quantize_command(CLI::App& app) {
  auto [command, arguments] = add_command<QuantizeArguments>(app, "quantize", run_quantize,
      "fixed-point quantize every Linear (PTQ), evaluate, and optionally fine-tune with it (QAT)");
  add_from_option(*command, arguments->from, "checkpoint directory");
  command->add_option("--config", arguments->config, "quantization config (TOML or JSON, Mase's keys)");
  command->add_option("--width", arguments->width, "fixed-point width for data_in, weight and bias");
  command->add_option("--frac", arguments->frac_width, "fractional width (default width/2)");
  add_out_option(*command, arguments->out, "where to write the quantized checkpoint");
  command->add_flag("--qat", arguments->qat, "quantization-aware fine-tuning after PTQ");
  arguments->data.add_to(*command);
  arguments->training.add_to(*command, mase_finetune_defaults());
}

}  // namespace whittle::cli
