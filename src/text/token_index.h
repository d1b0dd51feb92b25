#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whittle::text {

// Maps strings to token ids with open addressing over 8-byte slots: the hot
// loop of WordPiece is these lookups, and std::unordered_map's chained nodes
// cost a cache miss or two each. A slot keeps 32 bits of the hash and the id;
// the key bytes are compared against the token itself, so the index holds a
// reference to the token list, which must outlive it and stay unchanged.
class TokenIndex {
 public:
  // Indexes tokens[id].substr(key_offset) for every id that `include` accepts;
  // a key listed twice keeps its last id.
  template <typename Include>
  TokenIndex(const std::vector<std::string>& tokens, std::size_t key_offset, Include include)
      : tokens_(tokens), key_offset_(key_offset) {
    std::vector<int32_t> ids;
    for (std::size_t id = 0; id < tokens.size(); ++id) {
      if (include(tokens[id])) ids.push_back(static_cast<int32_t>(id));
    }
    build(ids);
  }

  std::optional<int32_t> find(std::string_view key) const;
  std::size_t longest_key() const { return longest_key_; }

 private:
  struct Slot {
    uint32_t hash_tag = 0;
    int32_t id = -1;
  };

  void build(const std::vector<int32_t>& ids);
  std::string_view key_of(int32_t id) const;

  const std::vector<std::string>& tokens_;
  std::size_t key_offset_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t longest_key_ = 0;
};

}  // namespace whittle::text
