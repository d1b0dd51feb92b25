#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/imdb.h"
#include "text/tokenizer.h"

namespace whittle::data {

// Token ids of a set of labelled texts, ready for batching.
struct TokenizedDataset {
  std::vector<std::vector<int32_t>> ids;  // [CLS] ... [SEP], truncated to max_length
  std::vector<int64_t> labels;
  int64_t size() const { return static_cast<int64_t>(ids.size()); }
  int64_t total_tokens() const;
};

TokenizedDataset tokenize_reviews(const std::vector<Review>& reviews, const text::Tokenizer& tokenizer,
                                  int64_t max_length);

// Same as tokenize_reviews, but memoised on disk under `cache_dir` (created
// if needed), keyed by the tokenizer fingerprint, max_length and a digest of
// the review ids and texts, so a second run does not tokenize again. The cache
// file is written atomically; a corrupt cache file is ignored and rebuilt.
TokenizedDataset tokenize_reviews_cached(const std::vector<Review>& reviews, const text::Tokenizer& tokenizer,
                                         int64_t max_length, const std::filesystem::path& cache_dir);

// What tokenize_reviews_cached did, for callers that report or test it.
struct CachedTokenization {
  TokenizedDataset dataset;
  bool cache_hit = false;  // true: read from cache_file, nothing was tokenized
  std::filesystem::path cache_file;
};
CachedTokenization tokenize_reviews_with_cache(const std::vector<Review>& reviews, const text::Tokenizer& tokenizer,
                                               int64_t max_length, const std::filesystem::path& cache_dir);

// Default cache location: $WHITTLE_CACHE, else $XDG_CACHE_HOME/whittle, else ~/.cache/whittle.
std::filesystem::path default_cache_dir();

}  // namespace whittle::data
