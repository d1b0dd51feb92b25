// --data and --tokenizer that do not point at what they should: each must be
// refused in one line that names the path, before any training starts.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "cli/cli_runner.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;

RunResult run_finetune_on(const TempDir& dir, const fs::path& data, const fs::path& tokenizer = tokenizer_fixture()) {
  return run_whittle({"finetune", "--config", tiny_config_fixture().string(), "--data", data.string(), "--tokenizer",
                      tokenizer.string(), "--cache-dir", (dir / "cache").string(), "--out", (dir / "out").string(),
                      "--max-length", "64"},
                     dir);
}

TEST(CliData, MissingPathIsNamed) {
  TempDir dir;
  const fs::path missing = dir / "no-such-aclImdb";
  expect_one_line_error(run_finetune_on(dir, missing), {missing.string(), "does not exist"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CliData, EmptyDirectoryIsNamed) {
  TempDir dir;
  fs::create_directories(dir / "empty");
  expect_one_line_error(run_finetune_on(dir, dir / "empty"), {(dir / "empty").string(), "empty"});
}

TEST(CliData, DirectoryWithoutAclImdbIsNamed) {
  TempDir dir;
  fs::create_directories(dir / "other");
  write_text(dir / "other" / "notes.txt", "not a dataset");
  expect_one_line_error(run_finetune_on(dir, dir / "other"), {(dir / "other").string(), "aclImdb"});
}

TEST(CliData, ArchiveWithoutAclImdbIsNamed) {
  TempDir dir;
  fs::create_directories(dir / "payload" / "movies" / "train" / "pos");
  write_text(dir / "payload" / "movies" / "train" / "pos" / "0_9.txt", "a fine film");
  const fs::path archive = dir / "movies.tar.gz";
  const std::string command = "tar czf '" + archive.string() + "' -C '" + (dir / "payload").string() + "' movies";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  expect_one_line_error(run_finetune_on(dir, archive), {archive.string(), "aclImdb"});
}

TEST(CliData, GarbageArchiveIsNamed) {
  TempDir dir;
  const fs::path archive = dir / "x.tar.gz";
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919 + 13) % 251));
  write_text(archive, garbage);
  expect_one_line_error(run_finetune_on(dir, archive), {archive.string()});
}

TEST(CliData, TruncatedArchiveIsNamed) {
  TempDir dir;
  const fs::path archive = dir / "aclImdb_v1.tar.gz";
  const std::string command =
      "tar czf '" + archive.string() + "' -C '" + imdb_fixture().string() + "' aclImdb";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::string whole = read_text(archive);
  write_text(archive, whole.substr(0, whole.size() / 2));
  expect_one_line_error(run_finetune_on(dir, archive), {archive.string()});
}

TEST(CliData, FifoWithoutWriterIsRefusedNotWaitedOn) {
  TempDir dir;
  const fs::path fifo = dir / "aclImdb.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_one_line_error(run_finetune_on(dir, fifo), {fifo.string(), "is a FIFO"});
}

TEST(CliData, OneClassTestSplitIsEvaluatedWithAWarning) {
  TempDir dir;
  fs::create_directories(dir / "one-class");
  fs::copy(imdb_fixture() / "aclImdb", dir / "one-class" / "aclImdb", fs::copy_options::recursive);
  fs::remove_all(dir / "one-class" / "aclImdb" / "test" / "neg");
  RunResult result = run_whittle({"finetune", "--config", tiny_config_fixture().string(), "--data",
                                  (dir / "one-class").string(), "--tokenizer", tokenizer_fixture().string(),
                                  "--cache-dir", (dir / "cache").string(), "--out", (dir / "out").string(),
                                  "--max-length", "32", "--epochs", "1", "--train-limit", "8"},
                                 dir);
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_NE(result.err.find("whittle: warning: the test split holds only positive reviews"), std::string::npos)
      << result.describe();
  EXPECT_EQ(result.err.find("the train split holds only"), std::string::npos) << result.describe();
}

TEST(CliData, TokenizerDirectoryWithoutVocabIsNamed) {
  TempDir dir;
  fs::create_directories(dir / "tokenizer");
  write_text(dir / "tokenizer" / "README", "no vocabulary here");
  expect_one_line_error(run_finetune_on(dir, imdb_fixture(), dir / "tokenizer"),
                        {(dir / "tokenizer").string(), "vocab.txt"});
}

TEST(CliData, MissingTokenizerDirectoryIsNamed) {
  TempDir dir;
  expect_one_line_error(run_finetune_on(dir, imdb_fixture(), dir / "no-tokenizer"), {(dir / "no-tokenizer").string()});
}

}  // namespace
}  // namespace whittle::cli_testing
