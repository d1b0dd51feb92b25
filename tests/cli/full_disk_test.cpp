// Runs whose disk fills up: a sweep (and pretraining) stops with one error
// line naming the file it could not write and why, exits non-zero, keeps
// every result it stored before, leaves no temporary behind, and a rerun
// with room finishes with the results of a run that never ran short.
// The disk is a small tmpfs where this machine lets the test mount one (in
// a mount namespace of its own, `unshare -m`), and a file size limit
// (RLIMIT_FSIZE, giving EFBIG) everywhere.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"
#include "cli/stored_results.h"
#include "cli/temporary_watch.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kUnshare = "/usr/bin/unshare";
const RunOptions kGenerous{.timeout = std::chrono::seconds(300)};
// Below one saved model of the tiny fixture (its embeddings alone are 2 MB),
// above everything a sweep writes before it saves one.
constexpr uint64_t kSmallDisk = 1536 * 1024;

std::vector<std::string> quant_sweep(const TempDir& dir, const fs::path& out) {
  return {WHITTLE_BINARY, "--threads",  "1", "sweep", "quant", "--from", (dir / "base").string(), "--out",
          out.string(),   "--data",     imdb_fixture().string(), "--cache-dir", (dir / "cache").string(),
          "--max-length", "64",         "--widths", "4,8", "--qat-epochs", "1"};
}

std::string shell_words(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& word : words) {
    std::string quoted = "'";
    for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += (line.empty() ? "" : " ") + quoted + "'";
  }
  return line;
}

class FullDisk : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(dir_ / "base"); }

  std::map<std::string, json> reference() {
    RunResult run = finish_run(start_program(quant_sweep(dir_, dir_ / "reference"), dir_, kGenerous));
    EXPECT_EQ(run.exit_code, 0) << run.describe();
    return values_by_key(dir_ / "reference" / "results.json");
  }

  // What a sweep stopped by a full disk left in `out`: valid results, each
  // equal to the reference's, the QAT points missing, no temporaries.
  void expect_intact(const fs::path& out, const std::map<std::string, json>& expected) {
    std::map<std::string, int> counts;
    std::map<std::string, json> kept = values_by_key(out / "results.json", &counts);
    for (const char* key : {"baseline", "ptq/w4", "ptq/w8"}) {
      ASSERT_TRUE(kept.count(key)) << key << " was stored before the disk filled up";
      EXPECT_EQ(kept.at(key), expected.at(key)) << key;
    }
    EXPECT_FALSE(kept.count("qat/w4")) << "its model could not be saved";
    for (const auto& [key, count] : counts) EXPECT_EQ(count, 1) << key;
    std::vector<fs::path> left = temporaries_under(out);
    EXPECT_TRUE(left.empty()) << left.size() << " temporaries left, e.g. " << left.front();
    EXPECT_FALSE(fs::exists(out / "models" / "qat-w4")) << "no half-saved model under its name";
  }

  void expect_finished_like(const fs::path& out, const std::map<std::string, json>& expected) {
    std::map<std::string, int> counts;
    EXPECT_EQ(values_by_key(out / "results.json", &counts), expected);
    for (const auto& [key, count] : counts) EXPECT_EQ(count, 1) << key;
    EXPECT_TRUE(temporaries_under(out).empty());
  }

  TempDir dir_;
};

TEST_F(FullDisk, AFileSizeLimitStopsTheSweepWithOneLineAndTheRerunFinishesIt) {
  const auto expected = reference();
  const fs::path out = dir_ / "limited";
  std::vector<std::string> command = quant_sweep(dir_, out);
  RunResult stopped = finish_run(start_program(
      command, dir_, {.timeout = std::chrono::seconds(300), .name = "limited", .file_size_limit = kSmallDisk}));
  expect_one_line_error(stopped, {"cannot write " + (out / "models" / "qat-w4").string() + "/", "File too large"});
  ASSERT_NO_FATAL_FAILURE(expect_intact(out, expected));

  RunResult rerun = finish_run(start_program(command, dir_, {.timeout = std::chrono::seconds(300), .name = "rerun"}));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.describe();
  expect_finished_like(out, expected);
}

TEST_F(FullDisk, PretrainingStopsAtItsFirstSaveAndStartsAgainWithRoom) {
  const fs::path out = dir_ / "pretrained";
  std::vector<std::string> command = {WHITTLE_BINARY, "--threads", "1", "pretrain", "--config",
                                      tiny_config_fixture().string(), "--data", imdb_fixture().string(),
                                      "--tokenizer", tokenizer_fixture().string(), "--out", out.string(),
                                      "--cache-dir", (dir_ / "cache").string(), "--max-length", "32",
                                      "--steps", "6", "--batch-size", "2", "--checkpoint-minutes", "0.0001"};
  RunResult stopped = finish_run(start_program(
      command, dir_, {.timeout = std::chrono::seconds(300), .name = "limited", .file_size_limit = kSmallDisk}));
  expect_one_line_error(stopped, {"cannot write " + (out / "resume").string() + "/", "File too large"});
  EXPECT_FALSE(fs::exists(out / "resume"));
  EXPECT_TRUE(temporaries_under(out).empty());

  RunResult rerun = finish_run(start_program(command, dir_, {.timeout = std::chrono::seconds(300), .name = "rerun"}));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.describe();
  EXPECT_TRUE(fs::exists(out / "model.safetensors"));
  EXPECT_FALSE(fs::exists(out / "resume"));
}

// Whether this process may mount a tmpfs in a mount namespace of its own;
// empty if so, else why not.
std::string tmpfs_refused(const TempDir& dir) {
  fs::create_directories(dir / "probe");
  RunResult probe = finish_run(start_program(
      {kUnshare, "-m", "--propagation", "private", "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
       (dir / "probe").string()},
      dir, {.timeout = std::chrono::seconds(30), .name = "probe"}));
  if (probe.exit_code == 0) return "";
  return probe.err_lines.empty() ? probe.describe() : probe.err_lines.front();
}

TEST_F(FullDisk, ATmpfsThatFillsUpStopsTheSweepAndARemountWithRoomFinishesIt) {
  if (!fs::exists(kUnshare)) GTEST_SKIP() << kUnshare << " is missing; the file size limit test covers full disks";
  if (std::string refused = tmpfs_refused(dir_); !refused.empty()) {
    GTEST_SKIP() << "mounting a tmpfs is not permitted here (" << refused
                 << "); the file size limit test covers full disks";
  }
  const auto expected = reference();
  // The mount lives as long as the namespace, so one shell runs the sweep on
  // the small disk, grows it and resumes, copying out what each run left.
  const fs::path disk = dir_ / "disk";
  fs::create_directories(disk);
  const fs::path out = disk / "out";
  const std::string sweep = shell_words(quant_sweep(dir_, out));
  const std::string work = shell_words({dir_.path().string()});
  const std::string script =
      "mount -t tmpfs -o size=" + std::to_string(kSmallDisk) + " tmpfs " + shell_words({disk.string()}) + " || exit 90\n" +
      sweep + " > " + work + "/full.out 2> " + work + "/full.err; echo $? > " + work + "/full.rc\n" +
      "cp -a " + shell_words({out.string()}) + " " + work + "/after-full\n" +
      "mount -o remount,size=64m " + shell_words({disk.string()}) + " || exit 91\n" +
      sweep + " > " + work + "/rerun.out 2> " + work + "/rerun.err; echo $? > " + work + "/rerun.rc\n" +
      "cp -a " + shell_words({out.string()}) + " " + work + "/after-rerun\n";
  RunResult shell = finish_run(start_program({kUnshare, "-m", "--propagation", "private", "sh", "-c", script}, dir_,
                                             {.timeout = std::chrono::seconds(400), .name = "tmpfs"}));
  ASSERT_EQ(shell.exit_code, 0) << shell.describe();

  RunResult stopped;
  stopped.exit_code = std::stoi(read_text(dir_ / "full.rc"));
  stopped.err = read_text(dir_ / "full.err");
  std::istringstream lines(stopped.err);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) stopped.err_lines.push_back(line);
  }
  expect_one_line_error(stopped, {"cannot write " + (out / "models" / "qat-w4").string() + "/",
                                  "No space left on device"});
  ASSERT_NO_FATAL_FAILURE(expect_intact(dir_ / "after-full", expected));
  ASSERT_EQ(read_text(dir_ / "rerun.rc"), "0\n") << read_text(dir_ / "rerun.err");
  expect_finished_like(dir_ / "after-rerun", expected);
}


// The lab's log copies what the terminal shows: a log the disk has no room
// for (here /dev/full, where every write fails with ENOSPC) is told, and the
// lab goes on.
TEST_F(FullDisk, ALabLogTheDiskHasNoRoomForIsToldAndTheLabGoesOn) {
  const fs::path run = dir_ / "run";
  fs::create_directories(run);
  fs::create_symlink("/dev/full", run / "lab.log");
  write_text(dir_ / "lab.toml",
             "title = \"full log\"\n[data]\nsource = \"" + imdb_fixture().string() + "\"\nmax_length = 64\n"
             "[base]\nmodel = \"" + (dir_ / "base").string() + "\"\n"
             "[lora]\nenabled = false\n[quantize]\nwidths = [8]\n[prune]\nsparsities = [0.5]\nmethods = [\"random\"]\n");
  RunResult lab = run_whittle({"--threads", "1", "lab", "--config", (dir_ / "lab.toml").string(), "--out",
                               run.string(), "--cache-dir", (dir_ / "cache").string()},
                              dir_, kGenerous);
  ASSERT_EQ(lab.exit_code, 0) << lab.describe();
  EXPECT_NE(lab.err.find("whittle: warning: the log " + (run / "lab.log").string() + " could not be written in full"),
            std::string::npos)
      << lab.err;
  EXPECT_TRUE(fs::exists(run / "report.md"));
}

}  // namespace
}  // namespace whittle::cli_testing
