#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "text/tokenizer.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

struct TokenizeArguments {
  std::string tokenizer_dir;
  int64_t max_length = 0;
};

// Reads JSON lines {"text": ...} and writes one {"ids": [...]} line for each.
// A blank line gives a blank line, so that output line N answers input line N.
void run_tokenize(const TokenizeArguments& arguments, std::istream& in, std::ostream& out) {
  if (arguments.max_length < 0 || arguments.max_length == 1) {
    throw Error("--max-length must be 0 (no limit) or at least 2, got " + std::to_string(arguments.max_length));
  }
  const auto tokenizer = text::Tokenizer::load(arguments.tokenizer_dir);
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (is_blank(line)) {
      out << '\n';
      continue;
    }
    const std::vector<int32_t> ids = tokenizer.encode(text_of_line(line, line_number), arguments.max_length);
    out << nlohmann::json{{"ids", ids}}.dump() << '\n';
  }
  out.flush();
  if (!out) throw Error("cannot write the token ids to stdout");
}

}  // namespace

void register_tokenize_command(CLI::App& app) {
  auto filter_stdin = [](const TokenizeArguments& parsed) { run_tokenize(parsed, std::cin, std::cout); };
  auto [command, arguments] = add_command<TokenizeArguments>(app, "tokenize", filter_stdin,
      "tokenize JSON lines {\"text\": ...} from stdin into {\"ids\": [...]} lines on stdout");
  arguments->tokenizer_dir = (assets_dir() / "bert-base-uncased").string();
  command->add_option("--tokenizer", arguments->tokenizer_dir, "tokenizer directory (vocab.txt, tokenizer_config.json)")
      ->capture_default_str();
  command->add_option("--max-length", arguments->max_length, "truncate to this many ids, [CLS] and [SEP] included; 0: no limit")
      ->capture_default_str();
}

}  // namespace whittle::cli
