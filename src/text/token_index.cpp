#include "text/token_index.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace whittle::text {
namespace {

// A multiply-xorshift hash over 8-byte words: word pieces are short, and a
// byte-at-a-time hash would dominate the lookup.
uint64_t hash_key(std::string_view key) {
  uint64_t hash = 0x9E3779B97F4A7C15ULL ^ key.size();
  std::size_t position = 0;
  for (; position + 8 <= key.size(); position += 8) {
    uint64_t word;
    std::memcpy(&word, key.data() + position, 8);
    hash = (hash ^ word) * 0xFF51AFD7ED558CCDULL;
    hash ^= hash >> 32;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, key.data() + position, key.size() - position);
  hash = (hash ^ tail) * 0xC4CEB9FE1A85EC53ULL;
  return hash ^ (hash >> 29);
}

}  // namespace

void TokenIndex::build(const std::vector<int32_t>& ids) {
  // At most half full, so probe runs stay short.
  const std::size_t capacity = std::bit_ceil(std::max<std::size_t>(16, ids.size() * 2));
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (const int32_t id : ids) {
    const std::string_view key = key_of(id);
    longest_key_ = std::max(longest_key_, key.size());
    const uint64_t hash = hash_key(key);
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (std::size_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
      Slot& candidate = slots_[slot];
      if (candidate.id < 0) {
        candidate = {tag, id};
        break;
      }
      if (candidate.hash_tag == tag && key_of(candidate.id) == key) {
        candidate.id = id;
        break;
      }
    }
  }
}

std::optional<int32_t> TokenIndex::find(std::string_view key) const {
  const uint64_t hash = hash_key(key);
  const auto tag = static_cast<uint32_t>(hash >> 32);
  for (std::size_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
    const Slot& candidate = slots_[slot];
    if (candidate.id < 0) return std::nullopt;
    if (candidate.hash_tag == tag && key_of(candidate.id) == key) return candidate.id;
  }
}

std::string_view TokenIndex::key_of(int32_t id) const {
  return std::string_view(tokens_[static_cast<std::size_t>(id)]).substr(key_offset_);
}

}  // namespace whittle::text
