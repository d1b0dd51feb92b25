#include "text/word_piece.h"

#include <algorithm>
#include <optional>

namespace whittle::text {
namespace {

bool is_utf8_continuation_byte(char byte) { return (static_cast<unsigned char>(byte) & 0xC0) == 0x80; }

std::size_t count_code_points(std::string_view word) {
  return static_cast<std::size_t>(std::count_if(word.begin(), word.end(), [](char b) { return !is_utf8_continuation_byte(b); }));
}

}  // namespace

WordPiece::WordPiece(const Vocabulary& vocabulary, int32_t unknown_id, std::size_t max_chars_per_word)
    : vocabulary_(vocabulary), unknown_id_(unknown_id), max_chars_per_word_(max_chars_per_word) {}

void WordPiece::append_ids(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  // Byte length bounds code points from above, so most words skip the count.
  if (word.size() > max_chars_per_word_ && count_code_points(word) > max_chars_per_word_) {
    ids.push_back(unknown_id_);
    return;
  }
  const std::size_t first_piece = ids.size();
  std::size_t start = 0;
  while (start < word.size()) {
    const bool at_word_start = start == 0;
    const std::size_t longest = at_word_start ? vocabulary_.longest_word_start() : vocabulary_.longest_continuation();
    std::size_t end = std::min(word.size(), start + longest);
    std::optional<int32_t> id;
    for (; end > start; --end) {
      if (end < word.size() && is_utf8_continuation_byte(word[end])) continue;
      const std::string_view piece = word.substr(start, end - start);
      id = at_word_start ? vocabulary_.find_word_start(piece) : vocabulary_.find_continuation(piece);
      if (id) break;
    }
    if (!id) {
      ids.resize(first_piece);
      ids.push_back(unknown_id_);
      return;
    }
    ids.push_back(*id);
    start = end;
  }
}

}  // namespace whittle::text
