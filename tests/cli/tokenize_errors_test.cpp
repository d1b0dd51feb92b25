// `whittle tokenize` reads JSON lines from stdin; a bad line must end the run
// with one error line that says which line was bad.
#include <gtest/gtest.h>

#include "cli/cli_runner.h"

namespace whittle::cli_testing {
namespace {

RunResult run_tokenize(const TempDir& dir, const std::string& input) {
  return run_whittle({"tokenize", "--tokenizer", tokenizer_fixture().string()}, dir, {.stdin_text = input});
}

TEST(CliTokenize, MalformedJsonLineIsNamedByNumber) {
  TempDir dir;
  expect_one_line_error(run_tokenize(dir, "{\"text\": \"fine\"}\n{\"text\": \"no closing quote}\n"),
                        {"line 2", "JSON"});
}

TEST(CliTokenize, LineWithoutTextFieldIsNamed) {
  TempDir dir;
  expect_one_line_error(run_tokenize(dir, "[1, 2, 3]\n"), {"line 1", "\"text\""});
}

TEST(CliTokenize, TokenizerDirectoryWithoutVocabIsNamed) {
  TempDir dir;
  std::filesystem::create_directories(dir / "empty-tokenizer");
  expect_one_line_error(
      run_whittle({"tokenize", "--tokenizer", (dir / "empty-tokenizer").string()}, dir, {.stdin_text = "{}\n"}),
      {(dir / "empty-tokenizer").string(), "vocab.txt"});
}

}  // namespace
}  // namespace whittle::cli_testing
