#include "text/pre_tokenizer.h"

#include "text/unicode_classes.h"

namespace whittle::text {
namespace {

enum class AsciiClass : uint8_t { kRemoved, kSeparator, kPunctuation, kWordCharacter };

constexpr std::array<AsciiClass, 128> make_ascii_classes() {
  std::array<AsciiClass, 128> classes{};
  for (int c = 0; c < 128; ++c) {
    const bool punctuation = (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      classes[c] = AsciiClass::kSeparator;
    } else if (c < 32 || c == 127) {
      classes[c] = AsciiClass::kRemoved;
    } else if (punctuation) {
      classes[c] = AsciiClass::kPunctuation;
    } else {
      classes[c] = AsciiClass::kWordCharacter;
    }
  }
  return classes;
}

constexpr std::array<AsciiClass, 128> kAsciiClasses = make_ascii_classes();

char ascii_lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); }

}  // namespace

struct PreTokenizer::Scratch {
  std::string word;
  std::string punctuation;
  std::vector<char32_t> cleaned;
  std::vector<char32_t> lowered;
  std::vector<char32_t> decomposed;
};

PreTokenizer::PreTokenizer(NormalizationOptions options, std::vector<SpecialToken> special_tokens)
    : options_(options), special_tokens_(std::move(special_tokens)) {
  for (const SpecialToken& special : special_tokens_) {
    if (!special.text.empty()) starts_special_token_[static_cast<unsigned char>(special.text.front())] = true;
  }
}

const SpecialToken* PreTokenizer::special_token_at(std::string_view text, std::size_t position) const {
  const std::string_view rest = text.substr(position);
  for (const SpecialToken& special : special_tokens_) {
    if (!special.text.empty() && rest.starts_with(special.text)) return &special;
  }
  return nullptr;
}

void PreTokenizer::split(std::string_view text, WordSink& sink) const {
  Scratch scratch;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t span_start = 0;
  bool span_is_ascii = true;

  // A span is the text between separators; Python's tokenizer lower-cases
  // and strips accents per span before splitting off punctuation.
  auto finish_span = [&](std::size_t end) {
    if (end <= span_start) return true;
    const std::string_view span = text.substr(span_start, end - span_start);
    return span_is_ascii ? split_ascii_span(span, sink, scratch) : split_unicode_span(span, sink, scratch);
  };
  auto start_span_at = [&](std::size_t position) {
    span_start = position;
    span_is_ascii = true;
  };

  std::size_t position = 0;
  while (position < size) {
    const unsigned char byte = bytes[position];
    if (starts_special_token_[byte]) {
      if (const SpecialToken* special = special_token_at(text, position)) {
        if (!finish_span(position) || !sink.special_token(special->id)) return;
        position += special->text.size();
        start_span_at(position);
        continue;
      }
    }
    if (byte < 0x80) {
      if (kAsciiClasses[byte] == AsciiClass::kSeparator) {
        if (!finish_span(position)) return;
        start_span_at(++position);
      } else {
        ++position;
      }
      continue;
    }
    std::size_t length = 0;
    const char32_t cp = unicode::decode_utf8(bytes + position, size - position, length);
    if (unicode::is_word_separator(cp)) {
      if (!finish_span(position)) return;
      start_span_at(position + length);
    } else if (unicode::is_cjk_ideograph(cp)) {
      if (!finish_span(position)) return;
      if (!split_unicode_span(text.substr(position, length), sink, scratch)) return;
      start_span_at(position + length);
    } else {
      span_is_ascii = false;
    }
    position += length;
  }
  finish_span(size);
}

bool PreTokenizer::split_ascii_span(std::string_view span, WordSink& sink, Scratch& scratch) const {
  std::string& word = scratch.word;
  word.clear();
  for (std::size_t i = 0; i < span.size(); ++i) {
    const auto byte = static_cast<unsigned char>(span[i]);
    switch (kAsciiClasses[byte]) {
      case AsciiClass::kWordCharacter:
        word.push_back(options_.lower_case ? ascii_lower(byte) : static_cast<char>(byte));
        break;
      case AsciiClass::kPunctuation:
        if (!word.empty()) {
          if (!sink.word(word)) return false;
          word.clear();
        }
        if (!sink.word(span.substr(i, 1))) return false;
        break;
      case AsciiClass::kRemoved:
      case AsciiClass::kSeparator:
        break;
    }
  }
  return word.empty() || sink.word(word);
}

bool PreTokenizer::split_unicode_span(std::string_view span, WordSink& sink, Scratch& scratch) const {
  const auto* bytes = reinterpret_cast<const unsigned char*>(span.data());
  scratch.cleaned.clear();
  for (std::size_t position = 0; position < span.size();) {
    std::size_t length = 0;
    const char32_t cp = unicode::decode_utf8(bytes + position, span.size() - position, length);
    if (!unicode::is_removed_by_cleaning(cp)) scratch.cleaned.push_back(cp);
    position += length;
  }

  const std::vector<char32_t>* normalized = &scratch.cleaned;
  if (options_.lower_case) {
    scratch.lowered.clear();
    unicode::append_lowercase(*normalized, scratch.lowered);
    normalized = &scratch.lowered;
  }
  if (options_.strip_accents) {
    scratch.decomposed.clear();
    unicode::decompose_canonically(*normalized, scratch.decomposed);
    std::erase_if(scratch.decomposed, unicode::is_nonspacing_mark);
    normalized = &scratch.decomposed;
  }

  std::string& word = scratch.word;
  word.clear();
  for (const char32_t cp : *normalized) {
    if (!unicode::is_punctuation(cp)) {
      unicode::append_utf8(cp, word);
      continue;
    }
    if (!word.empty()) {
      if (!sink.word(word)) return false;
      word.clear();
    }
    scratch.punctuation.clear();
    unicode::append_utf8(cp, scratch.punctuation);
    if (!sink.word(scratch.punctuation)) return false;
  }
  return word.empty() || sink.word(word);
}

}  // namespace whittle::text
