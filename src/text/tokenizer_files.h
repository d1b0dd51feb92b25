#pragma once
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace whittle::text {

struct TokenizerOptions {
  bool lower_case = true;
  // Unset: accents are stripped exactly when lower-casing, as in Hugging Face.
  std::optional<bool> strip_accents;
  std::size_t max_chars_per_word = 100;

  bool strips_accents() const { return strip_accents.value_or(lower_case); }
};

// The files of a Hugging Face tokenizer directory: vocab.txt (one token per
// line, id = line number; tokenizer.json's WordPiece vocab when vocab.txt is
// absent) and the options in tokenizer_config.json and tokenizer.json, the
// latter winning where both speak. Throws whittle::Error naming the file.
struct TokenizerFiles {
  std::vector<std::string> tokens;
  TokenizerOptions options;
};

TokenizerFiles read_tokenizer_files(const std::filesystem::path& dir);

std::vector<std::string> parse_vocab_lines(const std::string& content);

}  // namespace whittle::text
