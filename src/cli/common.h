#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "data/imdb.h"
#include "data/pretrain_corpus.h"
#include "data/tokenized.h"
#include "model/bert.h"
#include "model/classifier_io.h"
#include "text/tokenizer.h"
#include "train/evaluate.h"
#include "train/trainer.h"
#include "util/launcher.h"

namespace whittle::cli {

// Where the repo's shipped assets live (tokenizer files, BERT-Tiny config,
// the IMDb sample), so that defaults work from any directory.
std::filesystem::path assets_dir();

// The options every data-reading command shares.
struct DataOptions {
  std::string source;           // aclImdb_v1.tar.gz, aclImdb/ or a folder holding it
  std::string tokenizer_dir;    // empty: the checkpoint's, else the shipped bert-base-uncased
  int64_t max_length = 512;
  uint64_t seed = 0;
  std::string cache_dir;        // empty: data::default_cache_dir()

  void add_to(CLI::App& command);
  void validate() const;
};

// The data a training or sweep command works on: the source, balanced
// subsets of both splits, and the evaluation batch.
struct ExperimentData {
  DataOptions source;
  int64_t train_limit = 0;  // 0: the whole split
  int64_t test_limit = 0;
  int64_t eval_batch_size = 32;

  void add_to(CLI::App& command);
  void validate() const;
  data::TokenizedDataset load(data::Split split, const text::Tokenizer& tokenizer) const;
  train::EvalOptions eval_options(int64_t length_multiple) const { return {eval_batch_size, length_multiple}; }
  // What results were measured on (see describe_data).
  nlohmann::json describe() const;
};

// --data and --text: the text the masked-LM commands (pretrain, eval-mlm)
// read. Each command's help says what it does with that text.
struct CorpusFlags {
  std::string imdb;                     // aclImdb_v1.tar.gz or the aclImdb folder
  std::vector<std::string> text_files;  // one document per paragraph

  void add_to(CLI::App& command, const std::string& imdb_help, const std::string& text_help);
  bool empty() const { return imdb.empty() && text_files.empty(); }
  data::CorpusSources sources() const;
};

// --tokenizer and --cache-dir of the masked-LM commands, for
// resolve_tokenizer_dir and resolve_cache_dir.
struct TokenizingFlags {
  std::string tokenizer_dir;
  std::string cache_dir;

  void add_to(CLI::App& command, const std::string& tokenizer_help);
};

// The tokenizer in `preferred` (a checkpoint directory) when it has a
// vocab.txt, else the one named by the options.
std::filesystem::path resolve_tokenizer_dir(const DataOptions& options, const std::filesystem::path& preferred);
// The same rule for commands with their own --tokenizer: `chosen` when
// given, else the checkpoint's, else the shipped bert-base-uncased.
std::filesystem::path resolve_tokenizer_dir(const std::string& chosen, const std::filesystem::path& checkpoint);

// `chosen` (a --cache-dir), else data::default_cache_dir().
std::filesystem::path resolve_cache_dir(const std::string& chosen);

// --split: "train" or "test".
data::Split parse_split(const std::string& name);

// A --limit-like flag: 0 means all, a negative value is refused.
void validate_limit(const std::string& flag, int64_t limit);

// Reads a split, takes a balanced subset of `limit` reviews (0 = all) and
// tokenizes it through the on-disk cache, logging what it does to stderr.
data::TokenizedDataset load_split(const DataOptions& options, data::Split split, int64_t limit,
                                  const text::Tokenizer& tokenizer);

// What a sweep's results were measured on; part of its signature, so that
// results on other data never mix in.
nlohmann::json describe_data(const DataOptions& data, int64_t train_limit, int64_t test_limit);

// The ending of the commands that write a compressed checkpoint: saves
// `model` with `summary` recorded in its whittle.json under `command_key`
// (beside what `notes` held), then prints the summary without its per-layer
// "layers" as one JSON line on stdout and says where it went on stderr.
void save_and_print_summary(const std::filesystem::path& out, model::BertForSequenceClassification& model,
                            nlohmann::json notes, const std::string& command_key, nlohmann::json summary,
                            const std::filesystem::path& tokenizer_dir);

// What a command reports: one JSON line on stdout, flushed.
void print_json_line(const nlohmann::json& line);

// The "text" of one JSON line {"text": ...} read from stdin; a clear error
// naming the line otherwise.
std::string text_of_line(const std::string& line, int64_t line_number);
bool is_blank(const std::string& line);

// One JSON line per example: {"index", "label", "prediction", "logits"}.
std::string predictions_jsonl(const train::EvalResult& result, const data::TokenizedDataset& dataset);

// Validators for CLI11 options.
void require_positive(const std::string& name, double value);
void require_non_negative(const std::string& name, double value);
void require_at_least_one(const std::string& name, int64_t value);

// Checks of a loaded model against what the command is about to feed it,
// caught here with a message rather than deep inside the model.
void require_trained_classifier(const model::LoadedClassifier& loaded, const std::string& from);
void require_max_length_fits(int64_t max_length, int64_t max_position_embeddings);
void require_tokenizer_fits(const text::Tokenizer& tokenizer, int64_t model_vocab_size);

// --workers N: sweep points run at a time, each on an equal share of the
// threads (see experiments::PointRunnerOptions).
void add_workers_option(CLI::App& command, int& workers);

// --time-limit MINUTES: no sweep point or lab stage starts that would not
// finish within that many minutes of the command's start (see
// experiments::PointRunnerOptions::deadline); the run then stops with exit
// code 75, and the same command resumes it.
void add_time_limit_option(CLI::App& command, std::optional<double>& minutes);
std::optional<std::chrono::steady_clock::time_point> deadline_after(const std::optional<double>& minutes);

// Joins the ranks of a data-parallel run when a launcher started this
// command on several (RANK/WORLD_SIZE with MASTER_ADDR/MASTER_PORT, mpirun,
// srun), and shares them with the training and evaluation options. Returns
// whether this process writes the outputs: rank 0, or a single process.
bool join_ranks_if_launched(train::TrainOptions& training, train::EvalOptions& eval);
// Refuses a run on several ranks for a command that trains in one process only.
void refuse_ranks(const std::string& command);

// --shard I/N: this process's share of a sweep that several run. Without it,
// the place comes from the launcher (Slurm job array, mpirun, srun).
void add_shard_option(CLI::App& command, std::optional<std::string>& shard);
ProcessPlace resolve_shard(const std::optional<std::string>& shard);

}  // namespace whittle::cli
