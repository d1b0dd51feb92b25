#include <cmath>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "cli/train_flags.h"
#include "data/pretrain_corpus.h"
#include "model/bert_mlm.h"
#include "train/mlm_evaluate.h"
#include "train/pretrain.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/runtime.h"

namespace whittle::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// Without --steps, --epochs or a time budget: passes over the corpus. IMDb's
// train and unsup reviews are 23.6M tokens; BERT-Tiny trains at about 12k
// tokens/s per core, so three passes take one to two hours on 2 cores.
constexpr double kDefaultEpochs = 3.0;
// Forward and backward passes timed to fit a time budget.
constexpr int64_t kProbeSteps = 3;

struct PretrainArguments {
  std::string config;
  std::string from;
  CorpusFlags corpus;
  std::string out;
  TokenizingFlags tokenizing;
  int64_t max_length = 128;
  double held_out_fraction = 0.01;
  std::optional<int64_t> steps;
  std::optional<double> epochs;
  std::optional<double> time_budget_minutes;
  train::PretrainOptions options;  // the optimizer's fields come from `optimizer`
  OptimizerFlags optimizer;
  int64_t eval_batch_size = 64;
};

data::CorpusSpec corpus_spec(const PretrainArguments& arguments) {
  data::CorpusSpec spec;
  spec.sources = arguments.corpus.sources();
  spec.max_length = arguments.max_length;
  spec.held_out_fraction = arguments.held_out_fraction;
  return spec;
}

void validate(const PretrainArguments& arguments, const model::BertConfig& config) {
  if (arguments.corpus.empty()) {
    throw Error("no pretraining text: give --data IMDB and/or --text FILE");
  }
  if (arguments.max_length < 8) throw Error("--max-length must be at least 8, got " + std::to_string(arguments.max_length));
  require_max_length_fits(arguments.max_length, config.max_position_embeddings);
  if (!(arguments.held_out_fraction >= 0.0 && arguments.held_out_fraction < 0.5)) {
    throw Error("--held-out must be in [0, 0.5), got " + std::to_string(arguments.held_out_fraction));
  }
  if (arguments.steps) require_at_least_one("--steps", *arguments.steps);
  if (arguments.epochs && !(*arguments.epochs > 0.0)) throw Error("--epochs must be positive");
  if (arguments.time_budget_minutes) require_positive("--time-budget-minutes", *arguments.time_budget_minutes);
  if (arguments.eval_batch_size < 1) throw Error("--eval-batch-size must be at least 1");
}

// Everything besides the options that decides the result; a resumed or
// repeated run must agree with it.
json run_settings(const PretrainArguments& arguments, const model::BertConfig& config, const text::Tokenizer& tokenizer) {
  return {{"model_config", model::masked_lm_config_json(config)},
          {"from", arguments.from.empty() ? json() : json(fs::absolute(arguments.from).lexically_normal().string())},
          {"tokenizer", tokenizer.fingerprint()},
          {"corpus", to_json(corpus_spec(arguments))},
          {"schedule",
           {{"steps", arguments.steps ? json(*arguments.steps) : json()},
            {"epochs", arguments.epochs ? json(*arguments.epochs) : json()},
            {"time_budget_minutes", arguments.time_budget_minutes ? json(*arguments.time_budget_minutes) : json()}}}};
}

json without_total_steps(json settings) {
  if (settings.contains("options")) settings["options"].erase("total_steps");
  return settings;
}

// The pretraining record of a finished run in `out`, if there is one.
std::optional<json> finished_record(const fs::path& out) {
  std::error_code error;
  if (!fs::exists(out / "whittle.json", error)) return std::nullopt;
  json document;
  try {
    document = json::parse(read_file(out / "whittle.json"));
  } catch (const json::exception&) {
    return std::nullopt;
  }
  if (!document.is_object() || !document.contains("pretrain")) return std::nullopt;
  return document["pretrain"];
}

// True when `out` already holds this very run, finished. Refuses to write
// into a directory holding anything else.
bool already_finished(const PretrainArguments& arguments, const json& settings) {
  const fs::path out = arguments.out;
  std::error_code error;
  if (!fs::exists(out, error)) return false;
  if (!fs::is_directory(out, error)) throw Error("--out " + out.string() + " exists and is not a directory");
  auto check_same = [&](const json& saved, const std::string& what) {
    std::string difference = train::describe_difference(without_total_steps(saved), without_total_steps(settings));
    if (!difference.empty()) {
      throw Error("--out " + out.string() + " holds " + what + " with other settings (" + difference +
                  "); use another output directory, or the options it was started with");
    }
  };
  // Checked here, before the corpus is read, to fail fast.
  if (std::optional<train::ResumeState> saved = train::read_resume_state(out / "resume")) {
    check_same(saved->settings, "an interrupted pretraining run");
    return false;
  }
  if (std::optional<json> record = finished_record(out)) {
    check_same(record->value("settings", json()), "a finished pretraining run");
    return true;
  }
  if (!fs::is_empty(out, error)) {
    throw Error("--out " + out.string() + " is not empty and holds no whittle pretraining run; use a new directory");
  }
  return false;
}

int64_t schedule_steps(const PretrainArguments& arguments, model::BertForMaskedLM& model,
                       const train::Sequences& sequences, const train::MaskingTokens& tokens,
                       const fs::path& resume_dir) {
  if (std::optional<train::ResumeState> saved = train::read_resume_state(resume_dir)) {
    // Fixed when the run started (a time budget was measured then); a
    // changed --steps or --epochs shows up in the settings comparison.
    return saved->total_steps;
  }
  const auto count = static_cast<int64_t>(sequences.size());
  const int64_t batch = arguments.options.batch_size;
  std::optional<int64_t> cap;
  if (arguments.steps) cap = *arguments.steps;
  if (arguments.epochs) cap = train::steps_for_epochs(count, batch, *arguments.epochs);
  if (!arguments.time_budget_minutes) return cap.value_or(train::steps_for_epochs(count, batch, kDefaultEpochs));

  double seconds_per_step = train::measure_seconds_per_step(model, sequences, tokens, arguments.options, kProbeSteps);
  auto fitting = static_cast<int64_t>(*arguments.time_budget_minutes * 60.0 / seconds_per_step);
  int64_t steps = std::max<int64_t>(1, cap ? std::min(*cap, fitting) : fitting);
  std::cerr << "time budget " << format_duration(*arguments.time_budget_minutes * 60.0) << " at "
            << seconds_per_step << " s/step: " << steps << " steps\n";
  return steps;
}

void describe_plan(const model::BertConfig& config, const data::PretrainCorpus& corpus,
                   const train::PretrainOptions& options) {
  int64_t steps_per_epoch = (corpus.training.size() + options.batch_size - 1) / options.batch_size;
  double epochs = static_cast<double>(options.total_steps) / static_cast<double>(std::max<int64_t>(1, steps_per_epoch));
  std::cerr << "pretraining BERT (L=" << config.num_hidden_layers << ", H=" << config.hidden_size << ", A="
            << config.num_attention_heads << "): " << options.total_steps << " steps of " << options.batch_size
            << " sequences (" << std::round(epochs * 100.0) / 100.0 << " epochs), peak lr " << options.learning_rate
            << ", warm-up " << static_cast<int64_t>(options.warmup_ratio * static_cast<double>(options.total_steps))
            << " steps\n";
}

// A fresh model from --config, or the masked LM in --from to pretrain further
// (e.g. a second phase on longer sequences, as BERT did).
model::BertForMaskedLM starting_model(const PretrainArguments& arguments) {
  if (!arguments.from.empty()) {
    if (!arguments.config.empty()) throw Error("give either --from DIR or --config FILE, not both");
    return model::load_masked_lm(arguments.from);
  }
  fs::path config_path = arguments.config.empty() ? assets_dir() / "bert-tiny" / "config.json" : fs::path(arguments.config);
  return model::new_masked_lm(model::load_bert_config(config_path), arguments.options.seed);
}

void run_pretrain(PretrainArguments arguments) {
  refuse_ranks("pretrain");
  arguments.optimizer.apply_to(arguments.options);
  model::BertForMaskedLM model = starting_model(arguments);
  const model::BertConfig config = model->config();
  validate(arguments, config);
  fs::path tokenizer_dir = resolve_tokenizer_dir(arguments.tokenizing.tokenizer_dir, arguments.from);
  text::Tokenizer tokenizer = text::Tokenizer::load(tokenizer_dir);
  require_tokenizer_fits(tokenizer, config.vocab_size);
  const json settings = run_settings(arguments, config, tokenizer);
  const fs::path out = arguments.out;
  const fs::path resume_dir = out / "resume";
  // The options without the step count are known already: enough to tell
  // whether this exact run has finished.
  arguments.options.total_steps = 1;
  arguments.options.validate();
  if (already_finished(arguments, train::recorded_settings(settings, arguments.options))) {
    std::cerr << out.string() << " already holds this pretraining run, finished; nothing to do\n";
    return;
  }

  fs::path cache = resolve_cache_dir(arguments.tokenizing.cache_dir);
  data::CorpusSpec spec = corpus_spec(arguments);
  data::PretrainCorpus corpus = data::load_pretrain_corpus(spec.sources, tokenizer, spec.max_length,
                                                           spec.held_out_fraction, cache, false, std::cerr);
  if (corpus.training.size() == 0) throw Error("the pretraining text holds no training tokens");
  train::MaskingTokens tokens = train::masking_tokens(tokenizer);
  arguments.options.total_steps = schedule_steps(arguments, model, corpus.training.sequences, tokens, resume_dir);
  describe_plan(config, corpus, arguments.options);

  train::PretrainRun run = train::pretrain_masked_lm(model, corpus.training.sequences, tokens, arguments.options,
                                                     resume_dir, settings, std::cerr);
  if (!run.complete) {
    std::cerr << "stopped at step " << run.last_step << " of " << run.total_steps
              << "; run the same command again to continue\n";
    return;
  }
  json record = {{"settings", train::recorded_settings(settings, arguments.options)},
                 {"corpus", {{"training_documents", corpus.training.documents},
                             {"training_sequences", corpus.training.size()},
                             {"training_tokens", corpus.training.total_tokens()},
                             {"held_out_documents", corpus.held_out.documents},
                             {"held_out_sequences", corpus.held_out.size()}}},
                 {"steps", run.total_steps},
                 {"last_run", {{"first_step", run.first_step},
                               {"mean_loss", run.mean_loss},
                               {"seconds", run.seconds},
                               {"tokens_per_second", run.tokens_per_second}}}};
  if (corpus.held_out.size() > 0) {
    train::MlmEvalOptions eval_options;
    eval_options.batch_size = arguments.eval_batch_size;
    eval_options.masking = arguments.options.masking;
    train::MlmEvalResult result = train::evaluate_masked_lm(model, corpus.held_out.sequences, tokens, eval_options, std::cerr);
    record["held_out"] = {{"accuracy", result.accuracy},
                          {"loss", result.loss},
                          {"perplexity", result.perplexity},
                          {"predicted_tokens", result.predicted},
                          {"mask_seed", eval_options.mask_seed}};
  }
  model::save_masked_lm(out, model, {{"pretrain", record}}, tokenizer_dir);
  train::discard_resume_state(resume_dir);
  print_json_line(json({{"steps", run.total_steps},
                        {"train_loss", run.mean_loss},
                        {"tokens_per_second", run.tokens_per_second},
                        {"held_out", record.value("held_out", json())}}));
  std::cerr << "saved " << out.string() << " (peak memory " << peak_resident_bytes() / (1 << 20) << " MiB)\n";
}

}  // namespace

void register_pretrain_command(CLI::App& app) {
  auto [command, arguments] = add_command<PretrainArguments>(app, "pretrain", run_pretrain,
      "pretrain a BERT masked language model from scratch (resumes an interrupted run in --out)");
  train::PretrainOptions& options = arguments->options;
  command->add_option("--config", arguments->config, "model config.json (default: the shipped BERT-Tiny)");
  command->add_option("--from", arguments->from, "continue from this masked-LM checkpoint instead of --config");
  arguments->corpus.add_to(*command, "IMDb (aclImdb_v1.tar.gz or folder): its train and unsup reviews",
                           "plain-text files, one document per paragraph (paragraphs are separated by blank lines)");
  add_out_option(*command, arguments->out, "output directory; its resume/ subdirectory holds the state of a run");
  arguments->tokenizing.add_to(*command, "tokenizer directory (default: bert-base-uncased)");
  command->add_option("--max-length", arguments->max_length, "tokens per packed sequence")->capture_default_str();
  command->add_option("--held-out", arguments->held_out_fraction, "fraction of documents held out for evaluation")
      ->capture_default_str();
  auto* steps = command->add_option("--steps", arguments->steps, "optimizer steps");
  auto* epochs = command->add_option("--epochs", arguments->epochs, "passes over the corpus (default 3)");
  steps->excludes(epochs);
  command->add_option("--time-budget-minutes", arguments->time_budget_minutes,
                      "fit the schedule into this many minutes (measured at the start; caps --steps/--epochs)");
  arguments->optimizer.add_to(*command, options);
  command->add_option("--seed", options.seed, "seed for initialisation, data order, masks and dropout")
      ->capture_default_str();
  command->add_option("--checkpoint-minutes", options.checkpoint_minutes, "save the resume state this often")
      ->capture_default_str();
  command->add_option("--eval-batch-size", arguments->eval_batch_size, "held-out evaluation batch size")
      ->capture_default_str();
}

}  // namespace whittle::cli
