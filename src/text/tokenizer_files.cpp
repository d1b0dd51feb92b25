#include "text/tokenizer_files.h"

#include <nlohmann/json.hpp>

#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::text {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& path) {
  const std::string content = read_file(path);
  try {
    return json::parse(content);
  } catch (const json::exception& e) {
    throw Error("malformed JSON in " + path.string() + ": " + e.what());
  }
}

[[noreturn]] void throw_bad_setting(const fs::path& file, const std::string& key, const std::string& expected) {
  throw Error("setting '" + key + "' in " + file.string() + " must be " + expected);
}

std::optional<bool> read_optional_bool(const json& object, const std::string& key, const fs::path& file) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return std::nullopt;
  if (!found->is_boolean()) throw_bad_setting(file, key, "true, false or null");
  return found->get<bool>();
}

void apply_tokenizer_config(const fs::path& file, TokenizerOptions& options) {
  const json config = read_json(file);
  if (!config.is_object()) throw Error("tokenizer config " + file.string() + " is not a JSON object");
  if (auto lower_case = read_optional_bool(config, "do_lower_case", file)) options.lower_case = *lower_case;
  if (config.contains("strip_accents")) options.strip_accents = read_optional_bool(config, "strip_accents", file);
}

std::vector<std::string> vocab_from_model(const json& model, const fs::path& file) {
  const auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object()) throw Error(file.string() + " has no WordPiece vocab");
  std::vector<std::string> tokens(vocab->size());
  std::vector<bool> seen(vocab->size(), false);
  for (const auto& [token, id_value] : vocab->items()) {
    if (!id_value.is_number_integer()) throw Error("vocab entry '" + token + "' in " + file.string() + " has no integer id");
    const auto id = id_value.get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(tokens.size()) || seen[static_cast<std::size_t>(id)]) {
      throw Error("vocab ids in " + file.string() + " are not 0.." + std::to_string(tokens.size() - 1) + " each once");
    }
    tokens[static_cast<std::size_t>(id)] = token;
    seen[static_cast<std::size_t>(id)] = true;
  }
  return tokens;
}

// Reads the normalizer and model settings; returns the model's vocab for
// directories that have no vocab.txt.
std::vector<std::string> apply_tokenizer_json(const fs::path& file, TokenizerOptions& options, bool want_vocab) {
  const json tokenizer = read_json(file);
  if (!tokenizer.is_object()) throw Error(file.string() + " is not a JSON object");

  const auto model = tokenizer.find("model");
  if (model == tokenizer.end() || !model->is_object() || model->value("type", "") != "WordPiece") {
    throw Error(file.string() + " does not describe a WordPiece model; only BERT WordPiece tokenizers are supported");
  }
  if (const auto max_chars = model->find("max_input_chars_per_word"); max_chars != model->end()) {
    if (!max_chars->is_number_unsigned()) throw_bad_setting(file, "model.max_input_chars_per_word", "a positive integer");
    options.max_chars_per_word = max_chars->get<std::size_t>();
  }

  const auto normalizer = tokenizer.find("normalizer");
  if (normalizer != tokenizer.end() && !normalizer->is_null()) {
    if (!normalizer->is_object() || normalizer->value("type", "") != "BertNormalizer") {
      throw Error(file.string() + " uses a normalizer other than BertNormalizer, which is not supported");
    }
    if (auto lower_case = read_optional_bool(*normalizer, "lowercase", file)) options.lower_case = *lower_case;
    if (normalizer->contains("strip_accents")) {
      options.strip_accents = read_optional_bool(*normalizer, "strip_accents", file);
    }
  }
  return want_vocab ? vocab_from_model(*model, file) : std::vector<std::string>{};
}

}  // namespace

std::vector<std::string> parse_vocab_lines(const std::string& content) {
  std::vector<std::string> tokens;
  std::size_t line_start = 0;
  while (line_start < content.size()) {
    std::size_t line_end = content.find('\n', line_start);
    if (line_end == std::string::npos) line_end = content.size();
    std::size_t token_end = line_end;
    if (token_end > line_start && content[token_end - 1] == '\r') --token_end;
    tokens.emplace_back(content, line_start, token_end - line_start);
    line_start = line_end + 1;
  }
  return tokens;
}

TokenizerFiles read_tokenizer_files(const fs::path& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw Error("tokenizer directory not found: " + dir.string());

  const fs::path vocab_file = dir / "vocab.txt";
  const fs::path config_file = dir / "tokenizer_config.json";
  const fs::path tokenizer_file = dir / "tokenizer.json";
  const bool has_vocab_file = fs::is_regular_file(vocab_file, error);
  const bool has_tokenizer_file = fs::is_regular_file(tokenizer_file, error);
  if (!has_vocab_file && !has_tokenizer_file) {
    throw Error("tokenizer directory " + dir.string() + " has no vocab.txt (nor tokenizer.json)");
  }

  TokenizerFiles files;
  if (fs::is_regular_file(config_file, error)) apply_tokenizer_config(config_file, files.options);
  if (has_tokenizer_file) files.tokens = apply_tokenizer_json(tokenizer_file, files.options, !has_vocab_file);
  if (has_vocab_file) files.tokens = parse_vocab_lines(read_file(vocab_file));
  return files;
}

}  // namespace whittle::text
