#pragma once
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/text_corpus.h"
#include "text/tokenizer.h"

namespace whittle::data {

// Where pretraining text comes from: IMDb's train and unsup reviews and/or
// plain-text files (see read_text_documents for their format).
struct CorpusSources {
  std::filesystem::path imdb;  // empty: no IMDb
  std::vector<std::filesystem::path> text_files;

  bool empty() const { return imdb.empty() && text_files.empty(); }
};

// What a pretraining run read, as recorded in its output so that eval-mlm
// can find the same held-out split.
struct CorpusSpec {
  CorpusSources sources;
  int64_t max_length = 128;
  double held_out_fraction = 0.01;
};
// Paths are recorded absolute.
nlohmann::json to_json(const CorpusSpec& spec);
// Throws whittle::Error naming `origin` when the record is malformed.
CorpusSpec corpus_spec_from_json(const nlohmann::json& record, const std::string& origin);

// Every document, IMDb first, then the text files in the given order.
// Throws whittle::Error when there are no sources or one cannot be read.
std::vector<Document> read_corpus_documents(const CorpusSources& sources);

struct PackedCorpus {
  std::vector<std::vector<int32_t>> sequences;  // see pack_documents
  int64_t documents = 0;
  int64_t size() const { return static_cast<int64_t>(sequences.size()); }
  int64_t total_tokens() const;  // specials included
};

// Tokenizes the documents (through the token cache in cache_dir, unless it
// is empty) and packs them into sequences of at most max_length ids.
PackedCorpus tokenize_and_pack(const std::vector<Document>& documents, const text::Tokenizer& tokenizer,
                               int64_t max_length, const std::filesystem::path& cache_dir);

struct PretrainCorpus {
  PackedCorpus training;
  PackedCorpus held_out;
};

// The sources split into training and held-out documents (split_held_out),
// each tokenized and packed. With `held_out_only` the training part is left
// empty and never tokenized (evaluation). Logs a summary line per part.
PretrainCorpus load_pretrain_corpus(const CorpusSources& sources, const text::Tokenizer& tokenizer,
                                    int64_t max_length, double held_out_fraction,
                                    const std::filesystem::path& cache_dir, bool held_out_only, std::ostream& log);

}  // namespace whittle::data
