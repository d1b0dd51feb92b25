#pragma once
// Internal to whittle_data: the on-disk format of tokenize_reviews_cached.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/imdb.h"
#include "data/tokenized.h"

namespace whittle::data {

// Everything that decides the token ids: the tokenizer, the truncation and
// every review's id, label and text.
uint64_t tokenization_key(const std::vector<Review>& reviews, std::string_view tokenizer_fingerprint,
                          int64_t max_length);

std::filesystem::path token_cache_file(const std::filesystem::path& cache_dir, uint64_t key);

// Layout (native byte order, little-endian on every platform we build for):
//   magic "WHTLTOKS", u32 version, u32 reserved, u64 key, u64 examples,
//   u64 tokens, i64 labels[examples], u64 offsets[examples + 1],
//   i32 ids[tokens], u64 checksum of all preceding bytes.
std::string encode_token_cache(const TokenizedDataset& dataset, uint64_t key);

// Throws whittle::Error saying what is wrong (truncated, wrong magic,
// version or key, checksum mismatch, inconsistent offsets).
TokenizedDataset decode_token_cache(std::string_view bytes, uint64_t key);

}  // namespace whittle::data
