// What killed writers leave of atomic writes, and who may remove it: only
// temporaries whose writer has ended (on this machine), or any other
// process's when the caller holds the claim on the target.
#include "util/temporaries.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "support/temp_dir.h"
#include "util/atomic_file.h"

namespace whittle {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;

std::string this_host() { return parse_temporary_name(temporary_path_for("x").filename().string())->owner.host; }

// The pid of a process that has ended (and been reaped).
long ended_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

std::string temporary_name(const std::string& target, const std::string& host, long pid, bool aside = false) {
  return target + ".tmp-" + host + "-" + std::to_string(pid) + "-7" + (aside ? ".old" : "");
}

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "x";
}

TEST(Temporaries, NamesCarryTheirTargetAndWriter) {
  const auto name = parse_temporary_name(temporary_path_for("out/results.json").filename().string());
  ASSERT_TRUE(name);
  EXPECT_EQ(name->target, "results.json");
  EXPECT_EQ(name->owner.pid, static_cast<long>(::getpid()));
  EXPECT_FALSE(name->moved_aside);
  const auto aside = parse_temporary_name(moved_aside_path_for("out/model").filename().string());
  ASSERT_TRUE(aside);
  EXPECT_EQ(aside->target, "model");
  EXPECT_TRUE(aside->moved_aside);

  const auto dashed = parse_temporary_name("qat-w4.tmp-node-7.cluster-123-456");
  ASSERT_TRUE(dashed);
  EXPECT_EQ(dashed->target, "qat-w4");
  EXPECT_EQ(dashed->owner.host, "node-7.cluster");
  EXPECT_EQ(dashed->owner.pid, 123);
}

TEST(Temporaries, NamesWithoutAHostAreThisMachines) {
  const auto file = parse_temporary_name("results.json.tmp-4242-99");
  ASSERT_TRUE(file);
  EXPECT_EQ(file->target, "results.json");
  EXPECT_EQ(file->owner.pid, 4242);
  EXPECT_EQ(file->owner.host, this_host());
  const auto aside = parse_temporary_name("model.old.tmp-4242-99");
  ASSERT_TRUE(aside);
  EXPECT_EQ(aside->target, "model");
  EXPECT_TRUE(aside->moved_aside);
}

TEST(Temporaries, OtherNamesAreNotTemporaries) {
  for (const char* name : {"results.json", "notes.tmp-", "a.tmp-host", "a.tmp-host-12", "a.tmp-host-x-3", ".tmp-1-2",
                           "a.tmp-host-0-3"}) {
    EXPECT_FALSE(parse_temporary_name(name)) << name;
  }
}

TEST(Temporaries, OnlyThoseOfEndedWritersHereAreRemoved) {
  TempDir dir;
  const long ended = ended_pid();
  const fs::path dead_file = dir / temporary_name("results.json", this_host(), ended);
  const fs::path dead_folder = dir / "models" / temporary_name("qat-w4", this_host(), ended);
  const fs::path own = dir / temporary_name("results.csv", this_host(), ::getpid());
  const fs::path alive = dir / temporary_name("results.csv", this_host(), 1);  // init never ends
  const fs::path elsewhere = dir / temporary_name("results.csv", "another-machine", ended);
  for (const fs::path& file : {dead_file, own, alive, elsewhere}) touch(file);
  touch(dead_folder / "model.safetensors");

  remove_stale_temporaries(dir.path());
  EXPECT_FALSE(fs::exists(dead_file));
  EXPECT_FALSE(fs::exists(dead_folder)) << "a half-saved model in a subfolder";
  EXPECT_TRUE(fs::exists(own));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(elsewhere)) << "a writer on another machine cannot be checked";
  EXPECT_TRUE(fs::exists(dir / "models"));
}

TEST(Temporaries, AFolderMovedAsideComesBackWhenItsTargetIsMissing) {
  TempDir dir;
  const long ended = ended_pid();
  touch(dir / temporary_name("resume", this_host(), ended, /*aside=*/true) / "state.json");
  touch(dir / temporary_name("resume", this_host(), ended) / "half.bin");
  remove_stale_temporaries_of(dir / "resume");
  EXPECT_TRUE(fs::exists(dir / "resume" / "state.json"));
  EXPECT_FALSE(fs::exists(dir / "resume" / "half.bin"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

  touch(dir / temporary_name("resume", this_host(), ended, /*aside=*/true) / "older.json");
  remove_stale_temporaries_of(dir / "resume");
  EXPECT_TRUE(fs::exists(dir / "resume" / "state.json")) << "a target that exists stays";
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(Temporaries, AClaimHolderRemovesEveryOtherWritersTemporaries) {
  TempDir dir;
  const fs::path elsewhere = dir / temporary_name("qat-w4", "another-machine", 12);
  const fs::path own = dir / temporary_name("qat-w4", this_host(), ::getpid());
  const fs::path other_target = dir / temporary_name("qat-w8", "another-machine", 12);
  for (const fs::path& file : {elsewhere, own, other_target}) touch(file);
  remove_stale_temporaries_of(dir / "qat-w4", TemporaryOwners::all_but_this_one);
  EXPECT_FALSE(fs::exists(elsewhere));
  EXPECT_TRUE(fs::exists(own));
  EXPECT_TRUE(fs::exists(other_target));
}

TEST(Temporaries, AnAtomicWriteClearsWhatKilledWritersOfItsTargetLeft) {
  TempDir dir;
  const long ended = ended_pid();
  const fs::path stale = dir / temporary_name("results.json", this_host(), ended);
  const fs::path other = dir / temporary_name("results.csv", this_host(), ended);
  touch(stale);
  touch(other);
  write_file_atomically(dir / "results.json", "{}");
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(other)) << "another target's are left to a cleanup of the folder";
}

}  // namespace
}  // namespace whittle
