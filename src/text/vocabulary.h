#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/token_index.h"

namespace whittle::text {

// A WordPiece vocabulary: id = position. Lookups take slices of a word
// without building the "##" continuation string, so matching allocates
// nothing. The indexes refer to the stored tokens, which is why a
// Vocabulary is neither copied nor moved once built.
class Vocabulary {
 public:
  static constexpr std::string_view kContinuationPrefix = "##";

  explicit Vocabulary(std::vector<std::string> tokens);
  Vocabulary(const Vocabulary&) = delete;
  Vocabulary& operator=(const Vocabulary&) = delete;

  // The id of `piece` at the start of a word, or of "##" + `piece` inside one.
  std::optional<int32_t> find_word_start(std::string_view piece) const { return word_starts_.find(piece); }
  std::optional<int32_t> find_continuation(std::string_view piece) const { return continuations_.find(piece); }
  std::optional<int32_t> find(std::string_view token) const { return word_starts_.find(token); }

  // Upper bounds on the byte length of a piece that can match, so matching
  // never tries longer slices.
  std::size_t longest_word_start() const { return word_starts_.longest_key(); }
  std::size_t longest_continuation() const { return continuations_.longest_key(); }

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  std::vector<std::string> tokens_;
  TokenIndex word_starts_;
  TokenIndex continuations_;
};

}  // namespace whittle::text
