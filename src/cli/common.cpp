#include "cli/common.h"

#include <algorithm>
#include <iostream>
#include <vector>

#include "experiments/compressed_model.h"
#include "train/data_parallel.h"
#include "util/error.h"

#ifndef WHITTLE_ASSETS_DIR
#define WHITTLE_ASSETS_DIR "assets"
#endif

namespace whittle::cli {
namespace fs = std::filesystem;

fs::path assets_dir() {
  if (const char* override_dir = std::getenv("WHITTLE_ASSETS")) return override_dir;
  return WHITTLE_ASSETS_DIR;
}

void DataOptions::add_to(CLI::App& command) {
  source = (assets_dir() / "imdb-sample.tar.gz").string();
  command.add_option("--data", source, "IMDb: aclImdb_v1.tar.gz, the aclImdb folder, or a folder holding it")
      ->capture_default_str();
  command.add_option("--tokenizer", tokenizer_dir, "tokenizer directory (vocab.txt); default: the model's");
  command.add_option("--max-length", max_length, "truncate inputs to this many tokens")->capture_default_str();
  command.add_option("--seed", seed, "seed for subsets, shuffling, dropout and initialisation")->capture_default_str();
  command.add_option("--cache-dir", cache_dir, "where tokenized datasets are cached");
}

void DataOptions::validate() const {
  if (max_length < 3) throw Error("--max-length must be at least 3 ([CLS], a token, [SEP]), got " + std::to_string(max_length));
  if (source.empty()) throw Error("--data is empty: give the path of aclImdb_v1.tar.gz or the aclImdb folder");
}

void CorpusFlags::add_to(CLI::App& command, const std::string& imdb_help, const std::string& text_help) {
  command.add_option("--data", imdb, imdb_help);
  command.add_option("--text", text_files, text_help);
}

data::CorpusSources CorpusFlags::sources() const {
  data::CorpusSources chosen;
  chosen.imdb = imdb;
  for (const std::string& file : text_files) chosen.text_files.emplace_back(file);
  return chosen;
}

void TokenizingFlags::add_to(CLI::App& command, const std::string& tokenizer_help) {
  command.add_option("--tokenizer", tokenizer_dir, tokenizer_help);
  command.add_option("--cache-dir", cache_dir, "where tokenized text is cached");
}

fs::path resolve_tokenizer_dir(const DataOptions& options, const fs::path& preferred) {
  return resolve_tokenizer_dir(options.tokenizer_dir, preferred);
}

fs::path resolve_tokenizer_dir(const std::string& chosen, const fs::path& checkpoint) {
  if (!chosen.empty()) return chosen;
  if (!checkpoint.empty() && fs::exists(checkpoint / "vocab.txt")) return checkpoint;
  return assets_dir() / "bert-base-uncased";
}

fs::path resolve_cache_dir(const std::string& chosen) {
  return chosen.empty() ? data::default_cache_dir() : fs::path(chosen);
}

data::Split parse_split(const std::string& name) {
  if (name == "test") return data::Split::test;
  if (name == "train") return data::Split::train;
  throw Error("--split must be train or test, got '" + name + "'");
}

void validate_limit(const std::string& flag, int64_t limit) {
  if (limit < 0) throw Error(flag + " must not be negative (0 = all), got " + std::to_string(limit));
}

namespace {

// Accuracy on a split of one class only measures a constant guess; the run
// goes on (a fixture may be made so), but not without a word.
void warn_if_one_class(const std::vector<data::Review>& reviews, data::Split split) {
  std::size_t positive = std::count_if(reviews.begin(), reviews.end(), [](const data::Review& r) { return r.label == 1; });
  std::size_t negative = std::count_if(reviews.begin(), reviews.end(), [](const data::Review& r) { return r.label == 0; });
  if (reviews.empty() || (positive > 0 && negative > 0)) return;
  std::cerr << "whittle: warning: the " << data::split_name(split) << " split holds only "
            << (positive > 0 ? "positive" : "negative") << " reviews (" << reviews.size()
            << "): its accuracy measures one class\n";
}

}  // namespace

data::TokenizedDataset load_split(const DataOptions& options, data::Split split, int64_t limit,
                                  const text::Tokenizer& tokenizer) {
  auto reviews = data::read_imdb(options.source, split);
  std::size_t available = reviews.size();
  reviews = data::balanced_subset(std::move(reviews), limit, options.seed);
  warn_if_one_class(reviews, split);
  auto dataset =
      data::tokenize_reviews_cached(reviews, tokenizer, options.max_length, resolve_cache_dir(options.cache_dir));
  std::cerr << data::split_name(split) << ": " << dataset.size() << " of " << available << " reviews, "
            << dataset.total_tokens() << " tokens\n";
  return dataset;
}

void ExperimentData::add_to(CLI::App& command) {
  source.add_to(command);
  command.add_option("--train-limit", train_limit, "balanced subset of the train split (0 = all)");
  command.add_option("--test-limit", test_limit, "balanced subset of the test split (0 = all)");
  command.add_option("--eval-batch-size", eval_batch_size, "evaluation batch size")->capture_default_str();
}

void ExperimentData::validate() const {
  source.validate();
  validate_limit("--train-limit", train_limit);
  validate_limit("--test-limit", test_limit);
  require_at_least_one("--eval-batch-size", eval_batch_size);
}

data::TokenizedDataset ExperimentData::load(data::Split split, const text::Tokenizer& tokenizer) const {
  return load_split(source, split, split == data::Split::train ? train_limit : test_limit, tokenizer);
}

nlohmann::json ExperimentData::describe() const { return describe_data(source, train_limit, test_limit); }

void save_and_print_summary(const fs::path& out, model::BertForSequenceClassification& model, nlohmann::json notes,
                            const std::string& command_key, nlohmann::json summary, const fs::path& tokenizer_dir) {
  notes[command_key] = summary;
  experiments::save_compressed(out, model, notes, tokenizer_dir);
  summary.erase("layers");
  print_json_line(summary);
  std::cerr << "saved " << out.string() << "\n";
}

nlohmann::json describe_data(const DataOptions& data, int64_t train_limit, int64_t test_limit) {
  return {{"source", fs::absolute(data.source).lexically_normal().string()},
          {"train_limit", train_limit},
          {"test_limit", test_limit},
          {"max_length", data.max_length},
          {"seed", data.seed}};
}

void require_positive(const std::string& name, double value) {
  if (!(value > 0)) throw Error(name + " must be positive, got " + std::to_string(value));
}

void require_non_negative(const std::string& name, double value) {
  if (value < 0) throw Error(name + " must not be negative, got " + std::to_string(value));
}

void require_at_least_one(const std::string& name, int64_t value) {
  if (value < 1) throw Error(name + " must be at least 1, got " + std::to_string(value));
}

void require_trained_classifier(const model::LoadedClassifier& loaded, const std::string& from) {
  if (loaded.initialised.empty()) return;
  throw Error(from + " has no trained classifier (missing " + loaded.initialised.front() + ")");
}

void require_max_length_fits(int64_t max_length, int64_t max_position_embeddings) {
  if (max_length <= max_position_embeddings) return;
  throw Error("--max-length " + std::to_string(max_length) + " is longer than the model's max_position_embeddings (" +
              std::to_string(max_position_embeddings) + ")");
}

void require_tokenizer_fits(const text::Tokenizer& tokenizer, int64_t model_vocab_size) {
  if (tokenizer.vocab_size() <= model_vocab_size) return;
  throw Error("the tokenizer has " + std::to_string(tokenizer.vocab_size()) + " tokens but the model only " +
              std::to_string(model_vocab_size));
}

void add_workers_option(CLI::App& command, int& workers) {
  command
      .add_option("--workers", workers,
                  "sweep points run at a time, sharing the --threads equally (try 2 on 2 cores)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

void add_time_limit_option(CLI::App& command, std::optional<double>& minutes) {
  command.add_option("--time-limit", minutes,
                     "minutes: start no sweep point or stage that would not finish in time, then stop (exit 75); "
                     "the same command resumes");
}

bool join_ranks_if_launched(train::TrainOptions& training, train::EvalOptions& eval) {
  auto rendezvous = train::Rendezvous::from_environment(process_environment());
  if (!rendezvous) return true;
  std::cerr << "data-parallel: rank " << rendezvous->place.index << " of " << rendezvous->place.count << " ("
            << rendezvous->place.source << "), meeting at " << rendezvous->master_address << ":"
            << rendezvous->master_port << "\n";
  training.data_parallel = std::make_shared<train::DataParallel>(*rendezvous);
  eval.data_parallel = training.data_parallel;
  return training.data_parallel->is_first();
}

void refuse_ranks(const std::string& command) {
  if (auto rendezvous = train::Rendezvous::from_environment(process_environment())) {
    throw Error(command + " runs in one process; it was started as rank " + std::to_string(rendezvous->place.index) +
                " of " + std::to_string(rendezvous->place.count) + " (" + rendezvous->place.source +
                "): data-parallel training is available in finetune, quantize --qat, prune and lora");
  }
}

void add_shard_option(CLI::App& command, std::optional<std::string>& shard) {
  command.add_option("--shard", shard,
                     "I/N: run as process I of N sharing this sweep (default: from Slurm job array, mpirun or srun "
                     "variables); each runs its own points first, then any unclaimed");
}

ProcessPlace resolve_shard(const std::optional<std::string>& shard) {
  return shard ? parse_shard(*shard) : sweep_shard_from(process_environment());
}

std::optional<std::chrono::steady_clock::time_point> deadline_after(const std::optional<double>& minutes) {
  if (!minutes) return std::nullopt;
  require_positive("--time-limit", *minutes);
  std::chrono::duration<double> limit(*minutes * 60.0);
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(limit);
}

void print_json_line(const nlohmann::json& line) { std::cout << line.dump() << std::endl; }

std::string text_of_line(const std::string& line, int64_t line_number) {
  const std::string where = "stdin line " + std::to_string(line_number) + ": ";
  nlohmann::json record;
  try {
    record = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + "malformed JSON (" + e.what() + ")");
  }
  const auto text = record.is_object() ? record.find("text") : record.end();
  if (!record.is_object() || text == record.end() || !text->is_string()) {
    throw Error(where + "expected an object with a string field \"text\"");
  }
  return text->get<std::string>();
}

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

std::string predictions_jsonl(const train::EvalResult& result, const data::TokenizedDataset& dataset) {
  std::string lines;
  auto logits = result.logits.accessor<float, 2>();
  for (int64_t i = 0; i < dataset.size(); ++i) {
    std::vector<float> row(logits[i].data(), logits[i].data() + result.logits.size(1));
    int64_t predicted = std::max_element(row.begin(), row.end()) - row.begin();
    lines += nlohmann::json({{"index", i}, {"label", dataset.labels[i]}, {"prediction", predicted}, {"logits", row}}).dump();
    lines += "\n";
  }
  return lines;
}

}  // namespace whittle::cli
