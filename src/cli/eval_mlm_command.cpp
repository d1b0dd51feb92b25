#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "data/pretrain_corpus.h"
#include "model/bert_mlm.h"
#include "train/mlm_evaluate.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

struct EvalMlmArguments {
  std::string from;
  CorpusFlags corpus;
  TokenizingFlags tokenizing;
  std::optional<int64_t> max_length;
  std::optional<double> held_out_fraction;
  bool all_documents = false;
  train::MlmEvalOptions options;
};

// The corpus the checkpoint was pretrained on, as recorded in its whittle.json.
std::optional<data::CorpusSpec> recorded_corpus(const fs::path& dir) {
  const fs::path file = dir / "whittle.json";
  std::error_code error;
  if (!fs::exists(file, error)) return std::nullopt;
  json document;
  try {
    document = json::parse(read_file(file));
  } catch (const json::exception& problem) {
    throw Error(file.string() + ": not valid JSON: " + problem.what());
  }
  const json* corpus = nullptr;
  if (document.contains("pretrain")) {
    const json& record = document["pretrain"];
    if (record.contains("settings") && record["settings"].contains("run")) {
      corpus = &record["settings"]["run"]["corpus"];
    }
  }
  if (corpus == nullptr || corpus->is_null()) return std::nullopt;
  return data::corpus_spec_from_json(*corpus, file.string());
}

// The command line wins over the record; without either there is no corpus.
data::CorpusSpec corpus_spec(const EvalMlmArguments& arguments) {
  std::optional<data::CorpusSpec> recorded = recorded_corpus(arguments.from);
  data::CorpusSpec spec = recorded.value_or(data::CorpusSpec{});
  if (!arguments.corpus.empty()) {
    spec.sources = arguments.corpus.sources();
  } else if (!recorded) {
    throw Error(arguments.from + " records no pretraining corpus: give --data IMDB and/or --text FILE");
  }
  spec.max_length = arguments.max_length.value_or(spec.max_length);
  spec.held_out_fraction = arguments.held_out_fraction.value_or(spec.held_out_fraction);
  return spec;
}

void run_eval_mlm(const EvalMlmArguments& arguments) {
  if (arguments.options.batch_size < 1) throw Error("--batch-size must be at least 1");
  data::CorpusSpec spec = corpus_spec(arguments);
  model::BertForMaskedLM model = model::load_masked_lm(arguments.from);
  if (spec.max_length < 3 || spec.max_length > model->config().max_position_embeddings) {
    throw Error("--max-length " + std::to_string(spec.max_length) + " must be in [3, " +
                std::to_string(model->config().max_position_embeddings) + "] (the model's max_position_embeddings)");
  }
  data::CorpusSources sources = spec.sources;
  text::Tokenizer tokenizer =
      text::Tokenizer::load(resolve_tokenizer_dir(arguments.tokenizing.tokenizer_dir, arguments.from));
  require_tokenizer_fits(tokenizer, model->config().vocab_size);
  fs::path cache = resolve_cache_dir(arguments.tokenizing.cache_dir);

  data::PackedCorpus evaluated;
  if (arguments.all_documents) {
    evaluated = data::tokenize_and_pack(data::read_corpus_documents(sources), tokenizer, spec.max_length, cache);
  } else {
    evaluated = data::load_pretrain_corpus(sources, tokenizer, spec.max_length, spec.held_out_fraction, cache,
                                           /*held_out_only=*/true, std::cerr)
                    .held_out;
  }
  if (evaluated.size() == 0) {
    throw Error("no held-out documents to evaluate on (held-out fraction " + std::to_string(spec.held_out_fraction) +
                "); raise --held-out or use --all");
  }
  train::MlmEvalResult result =
      train::evaluate_masked_lm(model, evaluated.sequences, train::masking_tokens(tokenizer), arguments.options, std::cerr);
  print_json_line(json({{"documents", evaluated.documents},
                        {"sequences", result.sequences},
                        {"predicted_tokens", result.predicted},
                        {"accuracy", result.accuracy},
                        {"loss", result.loss},
                        {"perplexity", result.perplexity},
                        {"mask_seed", arguments.options.mask_seed},
                        {"seconds", result.seconds},
                        {"tokens_per_second", result.tokens_per_second}}));
}

}  // namespace

void register_eval_mlm_command(CLI::App& app) {
  auto [command, arguments] = add_command<EvalMlmArguments>(app, "eval-mlm", run_eval_mlm,
      "masked-token accuracy and perplexity of a masked-LM checkpoint on held-out text");
  add_from_option(*command, arguments->from, "checkpoint directory (BertForMaskedLM)");
  arguments->corpus.add_to(*command, "IMDb data (default: the corpus the checkpoint was pretrained on)",
                           "plain-text files, one document per paragraph");
  command->add_flag("--all", arguments->all_documents, "evaluate on every document, not only the held-out ones");
  command->add_option("--held-out", arguments->held_out_fraction, "held-out fraction (default: as pretrained)");
  command->add_option("--max-length", arguments->max_length, "tokens per packed sequence (default: as pretrained)");
  arguments->tokenizing.add_to(*command, "tokenizer directory (default: the checkpoint's)");
  command->add_option("--batch-size", arguments->options.batch_size, "evaluation batch size")->capture_default_str();
  command->add_option("--mask-seed", arguments->options.mask_seed, "seed of the evaluation masks")->capture_default_str();
}

}  // namespace whittle::cli
