#include "experiments/result_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "util/error.h"

namespace whittle::experiments {
namespace {

std::filesystem::path fresh_store_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("whittle-result-store-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir / "results.json";
}

TEST(ResultStore, ReopenedStoreKeepsItsPoints) {
  auto path = fresh_store_path("reopen");
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
  auto path = fresh_store_path("signature");
  ResultStore store(path, {{"sweep", "test"}});
  EXPECT_THROW(ResultStore(path, {{"sweep", "other"}}), Error);
}

TEST(ResultStore, TwoWritersSharingAFileKeepEachOthersPoints) {
  auto path = fresh_store_path("shared");
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
  auto path = fresh_store_path("refresh");
  ResultStore first(path, {{"sweep", "test"}});
  ResultStore second(path, {{"sweep", "test"}});
  second.put("l1-norm/s0.90", {{"accuracy", 0.6}});
  EXPECT_FALSE(first.has("l1-norm/s0.90"));
  first.refresh();
  EXPECT_TRUE(first.has("l1-norm/s0.90"));
}

TEST(ResultStore, RewritingAKeyReplacesItsValue) {
  auto path = fresh_store_path("rewrite");
  ResultStore store(path, {{"sweep", "test"}});
  store.put("a", {{"accuracy", 0.5}});
  store.put("a", {{"accuracy", 0.6}});
  auto reread = ResultStore::open_existing(path);
  EXPECT_EQ(reread.points().size(), 1u);
  EXPECT_DOUBLE_EQ(reread.get("a")->at("accuracy").get<double>(), 0.6);
}

}  // namespace
}  // namespace whittle::experiments
