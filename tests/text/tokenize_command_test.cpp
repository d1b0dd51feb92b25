// `whittle tokenize` end to end: JSON lines in, ids out, errors named by line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

const fs::path kTokenizerDir = fs::path(WHITTLE_TEST_FIXTURES) / "tokenizer";

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

RunResult run_tokenize(const std::string& input, const std::string& extra_arguments = "") {
  const fs::path dir = fs::temp_directory_path() / ("whittle_tokenize_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "in.jsonl", std::ios::binary) << input;
  const std::string command = std::string("'") + WHITTLE_BINARY + "' tokenize --tokenizer '" + kTokenizerDir.string() +
                              "' " + extra_arguments + " < '" + (dir / "in.jsonl").string() + "' > '" +
                              (dir / "out.jsonl").string() + "' 2> '" + (dir / "err.txt").string() + "'";
  const int status = std::system(command.c_str());
  RunResult result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "out.jsonl"), slurp(dir / "err.txt")};
  fs::remove_all(dir);
  return result;
}

TEST(TokenizeCommand, WritesIdsForEachLine) {
  const RunResult result = run_tokenize("{\"text\": \"Hello, World!\"}\n\n{\"text\": \"Caf\\u00e9\"}\n");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // The blank line stays, so that output line N answers input line N.
  EXPECT_EQ(result.out, "{\"ids\":[101,7592,1010,2088,999,102]}\n\n{\"ids\":[101,7668,102]}\n");
}

TEST(TokenizeCommand, TruncatesToMaxLength) {
  const RunResult result = run_tokenize("{\"text\": \"Hello there my friend\"}\n", "--max-length 4");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"ids\":[101,7592,2045,102]}\n");
}

TEST(TokenizeCommand, MalformedLineIsAnErrorNamingTheLine) {
  const RunResult malformed = run_tokenize("{\"text\": \"ok\"}\n{\"text\": \"unterminated\n");
  // Exactly whittle's error exit: a crash or a sanitizer's abort (through
  // the shell, 128 + signal) is not the error asked for.
  EXPECT_EQ(malformed.exit_code, 1) << malformed.err;
  EXPECT_NE(malformed.err.find("line 2"), std::string::npos) << malformed.err;

  const RunResult not_text = run_tokenize("{\"text\": \"ok\"}\n\n{\"label\": 1}\n");
  EXPECT_EQ(not_text.exit_code, 1) << not_text.err;
  EXPECT_NE(not_text.err.find("line 3"), std::string::npos) << not_text.err;
}

}  // namespace
