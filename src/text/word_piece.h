#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "text/vocabulary.h"

namespace whittle::text {

// Greedy longest-match-first WordPiece: a word becomes its longest prefix in
// the vocabulary followed by the longest "##" continuations; a word with an
// unmatched remainder, or longer than max_chars_per_word code points,
// becomes the single unknown token.
class WordPiece {
 public:
  WordPiece(const Vocabulary& vocabulary, int32_t unknown_id, std::size_t max_chars_per_word);

  void append_ids(std::string_view word, std::vector<int32_t>& ids) const;

 private:
  const Vocabulary& vocabulary_;
  int32_t unknown_id_;
  std::size_t max_chars_per_word_;
};

}  // namespace whittle::text
