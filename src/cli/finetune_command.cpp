#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "cli/train_flags.h"
#include "experiments/train_with_evaluation.h"
#include "model/classifier_io.h"
#include "model/reinitialize.h"
#include "train/data_parallel.h"
#include "train/evaluate.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/runtime.h"

namespace whittle::cli {
namespace {
namespace fs = std::filesystem;

struct FinetuneArguments {
  std::string from;
  std::string config;
  std::string out;
  ExperimentData data;
  bool skip_eval = false;
  int64_t reinit_query_key = 0;
  int64_t reinit_layers = 0;
  TrainFlags training;
};

// The --reinit-* flags as one request; none when neither is given.
std::optional<model::ReinitRequest> reinit_request(const FinetuneArguments& arguments, uint64_t seed) {
  if (arguments.reinit_query_key == 0 && arguments.reinit_layers == 0) return std::nullopt;
  if (arguments.from.empty()) throw Error("--reinit-query-key and --reinit-layers apply to a checkpoint (--from DIR)");
  if (arguments.reinit_query_key != 0 && arguments.reinit_layers != 0) {
    throw Error("give either --reinit-query-key or --reinit-layers, not both");
  }
  if (arguments.reinit_layers != 0) return model::ReinitRequest{arguments.reinit_layers, model::ReinitScope::layer, seed};
  return model::ReinitRequest{arguments.reinit_query_key, model::ReinitScope::query_key, seed};
}

void run_finetune(const FinetuneArguments& arguments) {
  arguments.data.validate();
  bool from_scratch = arguments.from.empty();
  if (!from_scratch && !arguments.config.empty()) throw Error("give either --from DIR or --config FILE, not both");
  train::TrainOptions options = arguments.training.resolve(
      from_scratch ? scratch_training_defaults() : mase_finetune_defaults(), arguments.data.source.seed);
  auto reinit = reinit_request(arguments, options.seed);

  model::BertForSequenceClassification model{nullptr};
  fs::path tokenizer_dir = resolve_tokenizer_dir(arguments.data.source, arguments.from);
  if (from_scratch) {
    fs::path config_path = arguments.config.empty() ? assets_dir() / "bert-tiny" / "config.json" : fs::path(arguments.config);
    model = model::new_classifier(model::load_bert_config(config_path), options.seed);
    std::cerr << "model: random initialisation from " << config_path.string() << "\n";
  } else {
    auto loaded = model::load_classifier(arguments.from, options.seed);
    model = loaded.model;
    std::cerr << "model: " << arguments.from << (loaded.initialised.empty() ? "" : " (pooler/classifier newly initialised)") << "\n";
  }
  std::vector<std::string> reinitialised;
  if (reinit) {
    reinitialised = model::reinitialize_top_layers(model, *reinit);
    std::cerr << "model: re-initialised " << reinitialised.size() << " tensors of the top " << reinit->top_layers
              << (reinit->scope == model::ReinitScope::layer ? " layer(s)" : " layer(s)' attention query/key") << "\n";
  }
  require_max_length_fits(arguments.data.source.max_length, model->config().max_position_embeddings);
  text::Tokenizer tokenizer = text::Tokenizer::load(tokenizer_dir);
  require_tokenizer_fits(tokenizer, model->config().vocab_size);
  auto train_set = arguments.data.load(data::Split::train, tokenizer);
  std::optional<data::TokenizedDataset> test_set;
  if (!arguments.skip_eval) test_set = arguments.data.load(data::Split::test, tokenizer);

  nlohmann::json history = nlohmann::json::array();
  train::EvalOptions eval_options = arguments.data.eval_options(options.length_multiple);
  const bool writes_outputs = join_ranks_if_launched(options, eval_options);
  auto after_epoch = [&](const train::EpochReport& report) {
    nlohmann::json entry = {{"epoch", report.epoch},
                            {"train_loss", report.mean_loss},
                            {"seconds", report.seconds},
                            {"tokens_per_second", report.tokens_per_second}};
    if (options.data_parallel) {
      entry["ranks"] = options.data_parallel->world_size();
      entry["communication_seconds"] = report.communication_seconds;
    }
    if (test_set) {
      auto result = train::evaluate(model, *test_set, eval_options, std::cerr);
      entry["test_accuracy"] = result.accuracy;
      entry["test_loss"] = result.loss;
    }
    history.push_back(entry);
    if (writes_outputs) print_json_line(entry);
  };
  train::train_classifier(model, train_set, options, after_epoch, std::cerr);

  nlohmann::json state = {{"finetune", {{"options", experiments::to_json(options)},
                                        {"from", from_scratch ? "random initialisation" : arguments.from},
                                        {"reinitialised", reinitialised},
                                        {"train_examples", train_set.size()},
                                        {"history", history}}}};
  if (!writes_outputs) return;  // rank 0 saves the model every rank holds
  model::save_checkpoint(arguments.out, model::classifier_checkpoint(model, state), tokenizer_dir);
  std::cerr << "saved " << arguments.out << " (peak memory " << peak_resident_bytes() / (1 << 20) << " MiB)\n";
}

}  // namespace

void register_finetune_command(CLI::App& app) {
  auto [command, arguments] = add_command<FinetuneArguments>(app, "finetune", run_finetune,
      "fine-tune a BERT classifier on IMDb. Defaults: from a checkpoint, Hugging Face Trainer's (shown below); "
      "from scratch, 2 epochs, batch 16, lr 5e-4, weight decay 0.01, warm-up 0.06");
  command->add_option("--from", arguments->from, "start from this checkpoint directory");
  command->add_option("--config", arguments->config, "start from a random initialisation of this config.json");
  add_out_option(*command, arguments->out, "where to write the fine-tuned checkpoint");
  arguments->data.add_to(*command);
  arguments->training.add_to(*command, mase_finetune_defaults());
  command->add_option("--reinit-query-key", arguments->reinit_query_key,
                      "re-initialise the attention query and key of the top N encoder layers of --from "
                      "(restores uniform [CLS] attention after masked-LM pretraining)");
  command->add_option("--reinit-layers", arguments->reinit_layers,
                      "re-initialise the top N encoder layers of --from entirely");
  command->add_flag("--no-eval", arguments->skip_eval, "do not evaluate on the test split after each epoch");
}

}  // namespace whittle::cli
