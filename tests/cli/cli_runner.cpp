#include "cli/cli_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

extern char** environ;

namespace whittle::cli_testing {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> non_empty_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// The parent's environment with the cache and home redirected into the work
// directory; built before fork because the child may only call
// async-signal-safe functions.
std::vector<std::string> child_environment(const fs::path& work_dir,
                                           const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::pair<std::string, std::string>> overrides = {
      {"HOME", work_dir.string()},
      {"XDG_CACHE_HOME", (work_dir / "xdg-cache").string()},
      {"WHITTLE_CACHE", (work_dir / "whittle-cache").string()},
  };
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string variable = *entry;
    bool overridden = false;
    for (const auto& [name, value] : overrides) overridden = overridden || variable.starts_with(name + "=");
    if (!overridden) environment.push_back(variable);
  }
  for (const auto& [name, value] : overrides) environment.push_back(name + "=" + value);
  return environment;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

// The process ended by itself (no signal, no hang) with a code that is
// neither success nor the child's "could not start". A fatal failure ends
// only this function, so callers wrap it in ASSERT_NO_FATAL_FAILURE.
void expect_failed_exit(const RunResult& result) {
  ASSERT_FALSE(result.timed_out) << result.describe();
  ASSERT_FALSE(result.signal_number) << result.describe();
  ASSERT_TRUE(result.exit_code) << result.describe();
  EXPECT_NE(*result.exit_code, 0) << result.describe();
  EXPECT_NE(*result.exit_code, 127) << "could not start " << WHITTLE_BINARY;
}

}  // namespace

std::string RunResult::describe() const {
  std::string how = timed_out       ? "timed out (killed)"
                    : signal_number ? "killed by signal " + std::to_string(*signal_number)
                    : exit_code     ? "exited with " + std::to_string(*exit_code)
                                    : "did not run";
  return how + "; stderr:\n" + err;
}

StartedRun start_program(const std::vector<std::string>& argv_strings, const TempDir& work_dir,
                         const RunOptions& options) {
  const fs::path stdin_path = work_dir / ("." + options.name + ".stdin");
  StartedRun started{-1, work_dir / ("." + options.name + ".stdout"), work_dir / ("." + options.name + ".stderr"),
                     std::chrono::steady_clock::now() + options.timeout};
  write_text(stdin_path, options.stdin_text);

  std::vector<std::string> argv_copy = argv_strings;
  std::vector<std::string> env_strings = child_environment(work_dir.path(), options.environment);
  std::vector<char*> argv = pointers_to(argv_copy);
  std::vector<char*> envp = pointers_to(env_strings);
  const std::string dir = work_dir.path().string();
  const std::string in = stdin_path.string(), out = started.stdout_path.string(), err = started.stderr_path.string();

  const std::optional<rlim_t> file_size_limit = options.file_size_limit;
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int in_fd = ::open(in.c_str(), O_RDONLY);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0 || ::chdir(dir.c_str()) != 0) ::_exit(127);
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    if (file_size_limit) {
      const struct rlimit limit = {*file_size_limit, *file_size_limit};
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(127);
      ::signal(SIGXFSZ, SIG_IGN);  // kept across exec: writes fail with EFBIG instead
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  started.pid = pid;
  return started;
}

RunResult finish_run(const StartedRun& run) {
  RunResult result;
  int status = 0;
  struct rusage usage {};
  while (::wait4(run.pid, &status, WNOHANG, &usage) == 0) {
    if (std::chrono::steady_clock::now() > run.deadline) {
      ::kill(run.pid, SIGKILL);
      ::wait4(run.pid, &status, 0, &usage);
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  result.peak_memory_kib = usage.ru_maxrss;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal_number = WTERMSIG(status);
  result.out = read_text(run.stdout_path);
  result.err = read_text(run.stderr_path);
  result.err_lines = non_empty_lines(result.err);
  return result;
}

std::string stderr_so_far(const StartedRun& run) { return read_text(run.stderr_path); }

RunResult run_whittle(const std::vector<std::string>& arguments, const TempDir& work_dir, const RunOptions& options) {
  std::vector<std::string> argv = {WHITTLE_BINARY};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return finish_run(start_program(argv, work_dir, options));
}

void expect_success(const RunResult& result) {
  ASSERT_FALSE(result.timed_out) << result.describe();
  ASSERT_FALSE(result.signal_number) << result.describe();
  ASSERT_EQ(result.exit_code, 0) << result.describe();
}

void expect_one_line_error(const RunResult& result, const std::vector<std::string>& expected_parts) {
  ASSERT_NO_FATAL_FAILURE(expect_failed_exit(result));

  int error_lines = 0;
  for (const std::string& line : result.err_lines) error_lines += line.starts_with("whittle: error: ");
  EXPECT_EQ(error_lines, 1) << "expected exactly one error line; " << result.describe();
  ASSERT_FALSE(result.err_lines.empty()) << result.describe();
  const std::string& last = result.err_lines.back();
  EXPECT_TRUE(last.starts_with("whittle: error: ")) << result.describe();
  for (const std::string& part : expected_parts) {
    EXPECT_NE(last.find(part), std::string::npos) << "error line lacks '" << part << "': " << last;
  }
}

void expect_usage_error(const RunResult& result, const std::vector<std::string>& expected_parts) {
  ASSERT_NO_FATAL_FAILURE(expect_failed_exit(result));
  ASSERT_FALSE(result.err_lines.empty()) << result.describe();
  EXPECT_EQ(result.err_lines.size(), 1u) << result.describe();
  const std::string& first = result.err_lines.front();
  EXPECT_EQ(first.rfind("whittle: error: ", 0), 0u) << first;
  for (const std::string& part : expected_parts) {
    EXPECT_NE(first.find(part), std::string::npos) << "first stderr line lacks '" << part << "': " << first;
  }
  EXPECT_TRUE(result.out.empty()) << "stdout: " << result.out;
}

fs::path fixtures_dir() { return WHITTLE_TEST_FIXTURES; }
fs::path imdb_fixture() { return fixtures_dir() / "imdb"; }
fs::path tokenizer_fixture() { return fixtures_dir() / "tokenizer"; }
fs::path tiny_config_fixture() { return fixtures_dir() / "cli" / "tiny-bert-config.json"; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_text(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace whittle::cli_testing
