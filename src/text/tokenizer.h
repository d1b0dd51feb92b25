#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace whittle::text {

// BERT's uncased WordPiece tokenizer, producing the same ids as Hugging Face's
// bert-base-uncased tokenizer: text cleaning, CJK splitting, lower-casing,
// accent stripping, punctuation splitting, then greedy longest-match
// WordPiece with "##" continuations.
class Tokenizer {
 public:
  // Loads `dir`/vocab.txt (and reads options such as do_lower_case from
  // tokenizer.json / tokenizer_config.json when present). Throws whittle::Error.
  static Tokenizer load(const std::filesystem::path& dir);
  static Tokenizer from_vocab(std::vector<std::string> tokens, bool lower_case = true);

  // [CLS] tokens [SEP]; when max_length > 0 the word pieces are truncated so
  // that the result, specials included, has at most max_length ids.
  std::vector<int32_t> encode(std::string_view text, int64_t max_length = 0) const;
  // Word pieces only, no specials, no truncation.
  std::vector<int32_t> tokenize_to_ids(std::string_view text) const;

  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t pad_id() const;
  int32_t mask_id() const;
  int32_t unk_id() const;
  int64_t vocab_size() const;
  const std::string& token(int32_t id) const;
  // A digest of the vocabulary and options, for cache keys.
  std::string fingerprint() const;

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

 private:
  struct State;
  explicit Tokenizer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace whittle::text
