#pragma once
// Runs the real whittle executable the way a user would and records how it
// ended, so that tests can tell a clean error exit from a crash or a hang.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace whittle::cli_testing {

using test_support::TempDir;

struct RunResult {
  std::optional<int> exit_code;      // set when the process exited
  std::optional<int> signal_number;  // set when a signal ended it (crash, or our kill on timeout)
  bool timed_out = false;
  std::string out;
  std::string err;
  std::vector<std::string> err_lines;  // stderr split on '\n', empty lines dropped
  long peak_memory_kib = 0;            // the process's peak resident memory (ru_maxrss)

  // For gtest messages: how it ended and what it printed to stderr.
  std::string describe() const;
};

struct RunOptions {
  std::string stdin_text;  // fed on standard input (empty: /dev/null)
  std::chrono::seconds timeout{30};
  // Names the files that catch the output, so that runs going on at the same
  // time in one work directory keep theirs apart.
  std::string name = "run";
  // Variables set for the child on top of the test's own environment.
  std::vector<std::pair<std::string, std::string>> environment;
  // A limit on the size of every file the child writes (RLIMIT_FSIZE), with
  // SIGXFSZ ignored: a write past it fails with EFBIG ("File too large"),
  // as a full disk fails with ENOSPC.
  std::optional<uint64_t> file_size_limit;
};

// A process started and not yet waited for.
struct StartedRun {
  int pid = -1;
  std::filesystem::path stdout_path;
  std::filesystem::path stderr_path;
  std::chrono::steady_clock::time_point deadline;
};

// Starts `argv` (argv[0] is the program's path) the way run_whittle does, without waiting.
StartedRun start_program(const std::vector<std::string>& argv, const TempDir& work_dir, const RunOptions& options = {});
// Waits for it to end (killing it past its deadline) and collects its output.
RunResult finish_run(const StartedRun& run);
// What the process has written to stderr so far.
std::string stderr_so_far(const StartedRun& run);

// Runs WHITTLE_BINARY with `arguments` inside `work_dir` (current directory,
// HOME, XDG_CACHE_HOME and WHITTLE_CACHE all point there, so no run touches the
// user's cache). A run still going after the timeout is killed.
RunResult run_whittle(const std::vector<std::string>& arguments, const TempDir& work_dir,
                      const RunOptions& options = {});

// The run exited by itself (no signal, no timeout) with code 0.
void expect_success(const RunResult& result);

// The checks every bad-input case shares: the process exited (no signal, no
// hang) with a non-zero code, and stderr ends in exactly one
// "whittle: error: ..." line that contains every one of `expected_parts`.
void expect_one_line_error(const RunResult& result, const std::vector<std::string>& expected_parts);

// The same for errors that CLI11 reports while parsing the command line: a
// non-zero exit and one stderr line, with the same prefix as every other
// error, containing `expected_parts`.
void expect_usage_error(const RunResult& result, const std::vector<std::string>& expected_parts);

std::filesystem::path fixtures_dir();  // tests/fixtures
std::filesystem::path imdb_fixture();  // tests/fixtures/imdb (holds aclImdb/)
std::filesystem::path tokenizer_fixture();
std::filesystem::path tiny_config_fixture();  // hidden 16, 1 layer, real vocabulary size

std::string read_text(const std::filesystem::path& path);
void write_text(const std::filesystem::path& path, const std::string& content);

}  // namespace whittle::cli_testing
