#include "data/tokenized.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <mutex>
#include <numeric>
#include <optional>
#include <system_error>
#include <thread>

#include "data/token_cache.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::data {
namespace fs = std::filesystem;
namespace {

// Reviews per parallel task: small enough to balance long and short reviews
// over the threads, large enough to keep the scheduling cost negligible.
constexpr int64_t reviews_per_task = 32;

void check_max_length(int64_t max_length) {
  // 0 (no truncation) is passed through to the tokenizer as is.
  if (max_length < 0 || max_length == 1)
    throw Error("max_length " + std::to_string(max_length) +
                " is invalid: use 0 for no truncation or at least 2 for [CLS] and [SEP]");
}

// Runs body(begin, end) over [0, count) in chunks handed out to one thread
// per core. LibTorch's intra-op pool is not used on purpose: its default size
// comes from cpuinfo and is 1 on some machines (this one included), and the
// tokenizer does not need LibTorch at all.
void for_each_chunk_in_parallel(int64_t count, int64_t chunk_size, const std::function<void(int64_t, int64_t)>& body) {
  int64_t chunks = (count + chunk_size - 1) / chunk_size;
  int64_t workers = std::min<int64_t>(std::max(1u, std::thread::hardware_concurrency()), chunks);
  std::atomic<int64_t> next_chunk{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    try {
      for (int64_t chunk; (chunk = next_chunk.fetch_add(1)) < chunks;)
        body(chunk * chunk_size, std::min(count, (chunk + 1) * chunk_size));
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next_chunk = chunks;
    }
  };
  std::vector<std::thread> helpers;
  for (int64_t worker = 1; worker < workers; ++worker) helpers.emplace_back(work);
  work();
  for (std::thread& helper : helpers) helper.join();
  if (failure) std::rethrow_exception(failure);
}

void warn(const std::string& message) { std::cerr << "whittle: warning: " << message << "\n"; }

std::optional<TokenizedDataset> load_cached(const fs::path& file, uint64_t key, size_t expected_examples) {
  std::error_code error;
  if (!fs::exists(file, error)) return std::nullopt;
  try {
    TokenizedDataset dataset = decode_token_cache(read_file(file), key);
    if (dataset.ids.size() != expected_examples)
      throw Error("holds " + std::to_string(dataset.ids.size()) + " examples, expected " +
                  std::to_string(expected_examples));
    return dataset;
  } catch (const std::exception& problem) {
    warn("ignoring token cache " + file.string() + " (" + problem.what() + "); tokenizing again");
    return std::nullopt;
  }
}

// A cache that cannot be written only costs time on the next run.
void store_cached(const fs::path& file, const TokenizedDataset& dataset, uint64_t key) {
  try {
    write_file_atomically(file, encode_token_cache(dataset, key));
  } catch (const std::exception& problem) {
    warn("could not write token cache " + file.string() + ": " + problem.what());
  }
}

fs::path environment_path(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? fs::path(value) : fs::path();
}

}  // namespace

int64_t TokenizedDataset::total_tokens() const {
  return std::accumulate(ids.begin(), ids.end(), int64_t{0},
                         [](int64_t sum, const std::vector<int32_t>& row) { return sum + static_cast<int64_t>(row.size()); });
}

TokenizedDataset tokenize_reviews(const std::vector<Review>& reviews, const text::Tokenizer& tokenizer,
                                  int64_t max_length) {
  check_max_length(max_length);
  TokenizedDataset dataset;
  dataset.ids.resize(reviews.size());
  dataset.labels.reserve(reviews.size());
  for (const Review& review : reviews) dataset.labels.push_back(review.label);
  for_each_chunk_in_parallel(static_cast<int64_t>(reviews.size()), reviews_per_task, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dataset.ids[i] = tokenizer.encode(reviews[i].text, max_length);
  });
  return dataset;
}

CachedTokenization tokenize_reviews_with_cache(const std::vector<Review>& reviews, const text::Tokenizer& tokenizer,
                                               int64_t max_length, const fs::path& cache_dir) {
  check_max_length(max_length);
  uint64_t key = tokenization_key(reviews, tokenizer.fingerprint(), max_length);
  CachedTokenization result;
  result.cache_file = token_cache_file(cache_dir, key);
  if (std::optional<TokenizedDataset> cached = load_cached(result.cache_file, key, reviews.size())) {
    result.dataset = std::move(*cached);
    result.cache_hit = true;
    return result;
  }
  result.dataset = tokenize_reviews(reviews, tokenizer, max_length);
  store_cached(result.cache_file, result.dataset, key);
  return result;
}

TokenizedDataset tokenize_reviews_cached(const std::vector<Review>& reviews, const text::Tokenizer& tokenizer,
                                         int64_t max_length, const fs::path& cache_dir) {
  return tokenize_reviews_with_cache(reviews, tokenizer, max_length, cache_dir).dataset;
}

fs::path default_cache_dir() {
  if (fs::path explicit_dir = environment_path("WHITTLE_CACHE"); !explicit_dir.empty()) return explicit_dir;
  if (fs::path xdg = environment_path("XDG_CACHE_HOME"); !xdg.empty()) return xdg / "whittle";
  if (fs::path home = environment_path("HOME"); !home.empty()) return home / ".cache" / "whittle";
  throw Error("no cache directory: set WHITTLE_CACHE (or HOME)");
}

}  // namespace whittle::data
