// The tokenizer on arbitrary bytes (invalid UTF-8, NUL, control characters,
// very long words), with bert-base-uncased's vocabulary, lower-cased or not,
// with and without truncation. The first input byte picks the options; the
// rest is the text. Every id must be in the vocabulary, and a truncated
// encoding must be the untruncated one cut short.
//
// When the first byte's top bit is set the rest is a vocab.txt instead,
// which must either build a tokenizer or be refused with whittle::Error.
#include "fuzz_support.h"
#include "text/tokenizer.h"
#include "text/tokenizer_files.h"
#include "util/error.h"

namespace {

using namespace whittle;

const text::Tokenizer& tokenizer(bool lower_case) {
  static const std::vector<std::string> tokens =
      text::read_tokenizer_files(WHITTLE_SOURCE_DIR "/assets/bert-base-uncased").tokens;
  static const text::Tokenizer lower = text::Tokenizer::from_vocab(tokens, true);
  static const text::Tokenizer cased = text::Tokenizer::from_vocab(tokens, false);
  return lower_case ? lower : cased;
}

void require(bool holds, const char* what) {
  if (!holds) fuzz::round_trip_failed(what);
}

void check_encoding(const text::Tokenizer& tokenizer, std::string_view text, int64_t max_length) {
  const std::vector<int32_t> pieces = tokenizer.tokenize_to_ids(text);
  for (int32_t id : pieces) require(id >= 0 && id < tokenizer.vocab_size(), "id inside the vocabulary");
  const std::vector<int32_t> encoded = tokenizer.encode(text, max_length);
  size_t kept = pieces.size();
  if (max_length > 0) kept = std::min(kept, static_cast<size_t>(max_length) - 2);
  require(encoded.size() == kept + 2, "length of the encoding");
  require(encoded.front() == tokenizer.cls_id() && encoded.back() == tokenizer.sep_id(), "[CLS] ... [SEP]");
  require(std::equal(pieces.begin(), pieces.begin() + static_cast<std::ptrdiff_t>(kept), encoded.begin() + 1),
          "truncation keeps the first pieces");
}

void check_vocabulary(const std::string& vocab_txt) {
  try {
    const text::Tokenizer built = text::Tokenizer::from_vocab(text::parse_vocab_lines(vocab_txt));
    check_encoding(built, "Hello, naïve world! [CLS] 東京 unaffable", 0);
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizer(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t options = data[0];
  const std::string rest = fuzz::input_string(data + 1, size - 1);
  if (options & 0x80) {
    check_vocabulary(rest);
    return 0;
  }
  const bool lower_case = options & 1;
  const int64_t length_choice = (options >> 1) & 0x3f;  // 0: no truncation, else 2 to 64 ids
  check_encoding(tokenizer(lower_case), rest, length_choice == 0 ? 0 : length_choice + 1);
  return 0;
}
