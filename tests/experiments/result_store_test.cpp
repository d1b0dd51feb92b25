#include "experiments/result_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <thread>

#include "support/error_message.h"
#include "support/file_size_limit.h"
#include "support/temp_dir.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/file_lock.h"
#include "util/temporaries.h"

namespace whittle::experiments {
namespace {

using test_support::error_message;
using test_support::TempDir;

TEST(ResultStore, ReopenedStoreKeepsItsPoints) {
  TempDir dir;
  auto path = dir / "results.json";
  {
    ResultStore store(path, {{"sweep", "test"}});
    store.put("a", {{"accuracy", 0.5}});
  }
  ResultStore reopened(path, {{"sweep", "test"}});
  ASSERT_TRUE(reopened.has("a"));
  EXPECT_DOUBLE_EQ(reopened.get("a")->at("accuracy").get<double>(), 0.5);
  EXPECT_FALSE(reopened.has("b"));
}

TEST(ResultStore, DifferentSignatureIsRefused) {
  TempDir dir;
  auto path = dir / "results.json";
  ResultStore store(path, {{"sweep", "test"}});
  EXPECT_THROW(ResultStore(path, {{"sweep", "other"}}), Error);
}

TEST(ResultStore, RefusalNamesTheSettingThatDiffers) {
  TempDir dir;
  auto path = dir / "results.json";
  ResultStore store(path, {{"sweep", "test"}, {"base_model_digest", "aaaa"}});
  std::string message = error_message([&] { ResultStore(path, {{"sweep", "test"}, {"base_model_digest", "bbbb"}}); });
  EXPECT_NE(message.find("base_model_digest: stored \"aaaa\", now \"bbbb\""), std::string::npos) << message;
}

TEST(ResultStore, TwoWritersSharingAFileKeepEachOthersPoints) {
  TempDir dir;
  auto path = dir / "results.json";
  ResultStore first(path, {{"sweep", "test"}});
  ResultStore second(path, {{"sweep", "test"}});  // opened before `first` wrote anything
  first.put("random/s0.10", {{"accuracy", 0.8}});
  second.put("l1-norm/s0.10", {{"accuracy", 0.9}});
  first.put("random/s0.20", {{"accuracy", 0.7}});

  auto merged = ResultStore::open_existing(path);
  EXPECT_TRUE(merged.has("random/s0.10"));
  EXPECT_TRUE(merged.has("l1-norm/s0.10"));
  EXPECT_TRUE(merged.has("random/s0.20"));
  EXPECT_EQ(merged.points().size(), 3u);
}

TEST(ResultStore, RefreshSeesWhatAnotherWriterAdded) {
  TempDir dir;
  auto path = dir / "results.json";
  ResultStore first(path, {{"sweep", "test"}});
  ResultStore second(path, {{"sweep", "test"}});
  second.put("l1-norm/s0.90", {{"accuracy", 0.6}});
  EXPECT_FALSE(first.has("l1-norm/s0.90"));
  first.refresh();
  EXPECT_TRUE(first.has("l1-norm/s0.90"));
}

TEST(ResultStore, RewritingAKeyReplacesItsValue) {
  TempDir dir;
  auto path = dir / "results.json";
  ResultStore store(path, {{"sweep", "test"}});
  store.put("a", {{"accuracy", 0.5}});
  store.put("a", {{"accuracy", 0.6}});
  auto reread = ResultStore::open_existing(path);
  EXPECT_EQ(reread.points().size(), 1u);
  EXPECT_DOUBLE_EQ(reread.get("a")->at("accuracy").get<double>(), 0.6);
}


TEST(ResultStore, AWriteThatDoesNotFitKeepsTheStoredPointsAndNamesTheFile) {
  TempDir dir;
  auto path = dir / "results.json";
  ResultStore store(path, {{"sweep", "test"}});
  store.put("a", {{"accuracy", 0.5}});
  std::string message;
  {
    test_support::FileSizeLimit limit(1024);
    message = test_support::error_message([&] { store.put("b", {{"notes", std::string(4096, 'x')}}); });
  }
  EXPECT_EQ(message, "cannot write " + path.string() + ": File too large");
  ResultStore reopened(path, {{"sweep", "test"}});
  EXPECT_TRUE(reopened.has("a"));
  EXPECT_FALSE(reopened.has("b"));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_FALSE(parse_temporary_name(entry.path().filename().string())) << entry.path();
  }
}

TEST(ResultStore, OpeningAStoreClearsWhatKilledProcessesLeftInItsFolder) {
  TempDir dir;
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a writer that has ended
  const std::string host = parse_temporary_name(temporary_path_for("x").filename().string())->owner.host;
  const std::string owner = ".tmp-" + host + "-" + std::to_string(child) + "-1";
  std::filesystem::create_directories(dir / "models" / ("qat-w4" + owner));
  std::ofstream(dir / "models" / ("qat-w4" + owner) / "model.safetensors") << "half";
  std::ofstream(dir / ("results.json" + owner)) << "{";
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  EXPECT_FALSE(std::filesystem::exists(dir / "models" / ("qat-w4" + owner)));
  EXPECT_FALSE(std::filesystem::exists(dir / ("results.json" + owner)));
}


TEST(ResultStore, ANewStoreWaitsForTheLockSoItNeverOverwritesAnotherProcesssPoints) {
  TempDir dir;
  auto path = dir / "results.json";
  // Another process holds the store's lock while it creates the file and stores a point.
  std::optional<FileLock> other = FileLock::acquire(path.string() + ".lock");
  std::optional<ResultStore> opened;
  std::thread opener([&] { opened.emplace(path, nlohmann::json{{"sweep", "test"}}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  write_file_atomically(path, nlohmann::json({{"signature", {{"sweep", "test"}}},
                                              {"points", {{{"key", "a"}, {"value", {{"accuracy", 0.5}}}}}}})
                                  .dump());
  other.reset();
  opener.join();
  EXPECT_TRUE(opened->has("a"));
  EXPECT_TRUE(ResultStore::open_existing(path).has("a"));
}

}  // namespace
}  // namespace whittle::experiments
