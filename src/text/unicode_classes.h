#pragma once
#include <cstdint>
#include <string>
#include <vector>

// Character classes of BERT's BasicTokenizer, answered from utf8proc's
// Unicode tables. Each predicate follows the reference Python implementation
// (transformers' BasicTokenizer), not a general Unicode notion of the name.
namespace whittle::text::unicode {

// Removed by text cleaning: NUL, U+FFFD and every category C* code point
// (control, format, private use, surrogate, unassigned) except \t \n \r.
bool is_removed_by_cleaning(char32_t cp);

// Separates words: \t \n \r and Zs become spaces during cleaning, and the
// line/paragraph separators (Zl, Zp) are split on by Python's str.split().
bool is_word_separator(char32_t cp);

// The ASCII symbol ranges 33-47, 58-64, 91-96, 123-126 and every P* category.
bool is_punctuation(char32_t cp);

// The CJK Unified Ideograph blocks that BERT surrounds with spaces.
bool is_cjk_ideograph(char32_t cp);

bool is_nonspacing_mark(char32_t cp);

// Python's str.lower(): full lower-case mapping, including the Final_Sigma
// rule (a capital sigma ending a word becomes U+03C2) and U+0130 becoming
// "i" followed by a combining dot.
void append_lowercase(const std::vector<char32_t>& word, std::vector<char32_t>& out);

// Canonical decomposition (NFD) of a code point sequence.
void decompose_canonically(const std::vector<char32_t>& text, std::vector<char32_t>& out);

void append_utf8(char32_t cp, std::string& out);

// Decodes one code point from UTF-8 starting at `bytes`; an invalid sequence
// decodes as U+FFFD over one byte so that cleaning drops it, as a decoder
// with errors="replace" followed by BERT's cleaning would.
char32_t decode_utf8(const unsigned char* bytes, std::size_t available, std::size_t& length);

}  // namespace whittle::text::unicode
