#include "text/unicode_classes.h"

#include <utf8proc.h>

namespace whittle::text::unicode {
namespace {

constexpr char32_t kReplacementCharacter = 0xFFFD;
constexpr char32_t kCapitalSigma = 0x03A3;
constexpr char32_t kSmallSigma = 0x03C3;
constexpr char32_t kFinalSigma = 0x03C2;
constexpr char32_t kCapitalIWithDot = 0x0130;
constexpr char32_t kCombiningDotAbove = 0x0307;

utf8proc_category_t category_of(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// Unicode's Cased property: upper, lower and title case letters, plus the
// symbols and numerals that have a case mapping (circled letters, Roman
// numerals) and the two Latin ordinal indicators.
bool is_cased(char32_t cp) {
  switch (category_of(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
      return true;
    default:
      break;
  }
  if (cp == 0x00AA || cp == 0x00BA) return true;
  const auto c = static_cast<utf8proc_int32_t>(cp);
  return utf8proc_tolower(c) != c || utf8proc_toupper(c) != c;
}

// Unicode's Case_Ignorable property: marks, format characters, modifier
// letters and symbols, and the apostrophes and mid-word stops of UAX #29.
bool is_case_ignorable(char32_t cp) {
  switch (category_of(cp)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      break;
  }
  switch (cp) {
    case 0x0027: case 0x002E: case 0x003A: case 0x00B7: case 0x0387: case 0x055F:
    case 0x05F4: case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13:
    case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
      return true;
    default:
      return false;
  }
}

// A capital sigma is final when a cased letter precedes it and none follows
// it, looking past case-ignorable characters in both directions.
bool sigma_is_final(const std::vector<char32_t>& word, std::size_t position) {
  std::size_t before = position;
  while (before > 0 && is_case_ignorable(word[before - 1])) --before;
  if (before == 0 || !is_cased(word[before - 1])) return false;
  std::size_t after = position + 1;
  while (after < word.size() && is_case_ignorable(word[after])) ++after;
  return after == word.size() || !is_cased(word[after]);
}

}  // namespace

bool is_removed_by_cleaning(char32_t cp) {
  if (cp == 0 || cp == kReplacementCharacter) return true;
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (category_of(cp)) {
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
      return true;
    default:
      return false;
  }
}

bool is_word_separator(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  switch (category_of(cp)) {
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return true;
    default:
      return false;
  }
}

bool is_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  switch (category_of(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool is_cjk_ideograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_nonspacing_mark(char32_t cp) { return category_of(cp) == UTF8PROC_CATEGORY_MN; }

void append_lowercase(const std::vector<char32_t>& word, std::vector<char32_t>& out) {
  for (std::size_t i = 0; i < word.size(); ++i) {
    const char32_t cp = word[i];
    if (cp == kCapitalSigma) {
      out.push_back(sigma_is_final(word, i) ? kFinalSigma : kSmallSigma);
    } else if (cp == kCapitalIWithDot) {
      out.push_back('i');
      out.push_back(kCombiningDotAbove);
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
  }
}

void decompose_canonically(const std::vector<char32_t>& text, std::vector<char32_t>& out) {
  // utf8proc orders combining marks only when it decomposes a whole string.
  std::string utf8;
  for (char32_t cp : text) append_utf8(cp, utf8);
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
  const auto length = static_cast<utf8proc_ssize_t>(utf8.size());
  std::vector<utf8proc_int32_t> buffer(text.size() * 4 + 4);
  utf8proc_ssize_t written = utf8proc_decompose(bytes, length, buffer.data(), static_cast<utf8proc_ssize_t>(buffer.size()),
                                                UTF8PROC_DECOMPOSE);
  if (written > static_cast<utf8proc_ssize_t>(buffer.size())) {
    buffer.resize(static_cast<std::size_t>(written));
    written = utf8proc_decompose(bytes, length, buffer.data(), written, UTF8PROC_DECOMPOSE);
  }
  if (written < 0) {  // cannot happen for valid code points; keep the text as it was
    out.insert(out.end(), text.begin(), text.end());
    return;
  }
  for (utf8proc_ssize_t i = 0; i < written; ++i) out.push_back(static_cast<char32_t>(buffer[static_cast<std::size_t>(i)]));
}

void append_utf8(char32_t cp, std::string& out) {
  utf8proc_uint8_t encoded[4];
  const utf8proc_ssize_t length = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), encoded);
  out.append(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(length));
}

char32_t decode_utf8(const unsigned char* bytes, std::size_t available, std::size_t& length) {
  utf8proc_int32_t cp = -1;
  const auto limit = static_cast<utf8proc_ssize_t>(available < 4 ? available : 4);
  const utf8proc_ssize_t consumed = utf8proc_iterate(bytes, limit, &cp);
  if (consumed <= 0 || cp < 0) {
    length = 1;
    return kReplacementCharacter;
  }
  length = static_cast<std::size_t>(consumed);
  return static_cast<char32_t>(cp);
}

}  // namespace whittle::text::unicode
