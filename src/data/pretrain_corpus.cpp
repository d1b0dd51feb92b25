#include "data/pretrain_corpus.h"

#include <numeric>
#include <ostream>

#include "data/tokenized.h"
#include "util/error.h"

namespace whittle::data {
namespace fs = std::filesystem;
namespace {

// Word pieces without the [CLS] and [SEP] that Tokenizer::encode adds.
std::vector<std::vector<int32_t>> word_pieces(const std::vector<Document>& documents,
                                              const text::Tokenizer& tokenizer, const fs::path& cache_dir) {
  // max_length 0: whole documents; packing decides where sequences end.
  TokenizedDataset tokenized = cache_dir.empty() ? tokenize_reviews(documents, tokenizer, 0)
                                                 : tokenize_reviews_cached(documents, tokenizer, 0, cache_dir);
  for (std::vector<int32_t>& ids : tokenized.ids) {
    if (ids.size() < 2) throw Error("tokenizer returned a sequence without [CLS] and [SEP]");
    ids.pop_back();
    ids.erase(ids.begin());
  }
  return std::move(tokenized.ids);
}

void log_part(std::ostream& log, const char* name, const PackedCorpus& part, int64_t max_length) {
  log << "pretraining corpus, " << name << ": " << part.documents << " documents, " << part.total_tokens()
      << " tokens in " << part.size() << " sequences of up to " << max_length << "\n";
}

}  // namespace

nlohmann::json to_json(const CorpusSpec& spec) {
  auto absolute = [](const fs::path& path) { return path.empty() ? std::string() : fs::absolute(path).lexically_normal().string(); };
  nlohmann::json text = nlohmann::json::array();
  for (const fs::path& file : spec.sources.text_files) text.push_back(absolute(file));
  return {{"imdb", absolute(spec.sources.imdb)},
          {"text", text},
          {"max_length", spec.max_length},
          {"held_out_fraction", spec.held_out_fraction}};
}

CorpusSpec corpus_spec_from_json(const nlohmann::json& record, const std::string& origin) {
  try {
    CorpusSpec spec;
    spec.sources.imdb = record.at("imdb").get<std::string>();
    for (const auto& file : record.at("text")) spec.sources.text_files.emplace_back(file.get<std::string>());
    spec.max_length = record.at("max_length").get<int64_t>();
    spec.held_out_fraction = record.at("held_out_fraction").get<double>();
    return spec;
  } catch (const nlohmann::json::exception& problem) {
    throw Error(origin + ": malformed pretraining corpus record (" + problem.what() + ")");
  }
}

std::vector<Document> read_corpus_documents(const CorpusSources& sources) {
  if (sources.empty()) throw Error("no pretraining text: give IMDb data and/or text files");
  std::vector<Document> documents;
  if (!sources.imdb.empty()) documents = read_imdb_pretraining_documents(sources.imdb);
  for (const fs::path& file : sources.text_files) {
    std::vector<Document> more = read_text_documents(file);
    documents.insert(documents.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  return documents;
}

int64_t PackedCorpus::total_tokens() const {
  return std::accumulate(sequences.begin(), sequences.end(), int64_t{0},
                         [](int64_t sum, const auto& sequence) { return sum + static_cast<int64_t>(sequence.size()); });
}

PackedCorpus tokenize_and_pack(const std::vector<Document>& documents, const text::Tokenizer& tokenizer,
                               int64_t max_length, const fs::path& cache_dir) {
  PackedCorpus packed;
  packed.documents = static_cast<int64_t>(documents.size());
  if (documents.empty()) return packed;
  packed.sequences = pack_documents(word_pieces(documents, tokenizer, cache_dir), max_length, tokenizer.cls_id(),
                                    tokenizer.sep_id());
  return packed;
}

PretrainCorpus load_pretrain_corpus(const CorpusSources& sources, const text::Tokenizer& tokenizer,
                                    int64_t max_length, double held_out_fraction, const fs::path& cache_dir,
                                    bool held_out_only, std::ostream& log) {
  DocumentSplit split = split_held_out(read_corpus_documents(sources), held_out_fraction);
  PretrainCorpus corpus;
  if (!held_out_only) {
    corpus.training = tokenize_and_pack(split.training, tokenizer, max_length, cache_dir);
    log_part(log, "training", corpus.training, max_length);
  }
  corpus.held_out = tokenize_and_pack(split.held_out, tokenizer, max_length, cache_dir);
  log_part(log, "held out", corpus.held_out, max_length);
  return corpus;
}

}  // namespace whittle::data
