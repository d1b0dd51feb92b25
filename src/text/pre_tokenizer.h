#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace whittle::text {

// Receives the words of a text in order. Returning false stops the split,
// which lets truncation skip the rest of a long text.
class WordSink {
 public:
  virtual ~WordSink() = default;
  virtual bool word(std::string_view normalized_word) = 0;
  virtual bool special_token(int32_t id) = 0;
};

struct SpecialToken {
  std::string text;
  int32_t id = 0;
};

struct NormalizationOptions {
  bool lower_case = true;
  bool strip_accents = true;
};

// BERT's BasicTokenizer: finds special tokens written in the raw text, cleans
// the text, isolates CJK ideographs, lower-cases, strips accents and splits
// on whitespace and punctuation. Spans of pure ASCII, the bulk of English
// text, take a byte-table path; any other span is decoded and normalised
// with utf8proc.
class PreTokenizer {
 public:
  PreTokenizer(NormalizationOptions options, std::vector<SpecialToken> special_tokens);

  void split(std::string_view text, WordSink& sink) const;

 private:
  struct Scratch;

  bool split_ascii_span(std::string_view span, WordSink& sink, Scratch& scratch) const;
  bool split_unicode_span(std::string_view span, WordSink& sink, Scratch& scratch) const;
  const SpecialToken* special_token_at(std::string_view text, std::size_t position) const;

  NormalizationOptions options_;
  std::vector<SpecialToken> special_tokens_;
  std::array<bool, 256> starts_special_token_{};
};

}  // namespace whittle::text
