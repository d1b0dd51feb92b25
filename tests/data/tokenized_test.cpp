#include "data/tokenized.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>

#include "data/test_support.h"
#include "support/file_size_limit.h"
#include "util/error.h"

namespace whittle::data {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

std::vector<Review> three_reviews() {
  return {{"train/pos/1_9", "The movie was great.", 1},
          {"train/neg/2_1", "A bad movie", 0},
          {"train/unsup/3_0", "the xyz", -1}};
}

// Many reviews of random words (some unknown), of very different lengths.
std::vector<Review> many_reviews(int count) {
  const std::vector<std::string> words{"the", "movie", "was", "great", "bad", "a", ".", "plot", "Great", "MOVIE"};
  std::mt19937 generator(11);
  std::vector<Review> reviews;
  for (int i = 0; i < count; ++i) {
    std::string text;
    int length = static_cast<int>(generator() % 200);
    for (int w = 0; w < length; ++w) text += words[generator() % words.size()] + " ";
    reviews.push_back({"train/pos/" + std::to_string(i) + "_7", text, i % 2});
  }
  return reviews;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST(TokenizeReviews, AddsSpecialsAndKeepsLabels) {
  TokenizedDataset dataset = tokenize_reviews(three_reviews(), testing::small_tokenizer(), 512);
  ASSERT_EQ(dataset.size(), 3);
  EXPECT_EQ(dataset.ids[0], (std::vector<int32_t>{2, 5, 6, 7, 8, 11, 3}));
  EXPECT_EQ(dataset.ids[1], (std::vector<int32_t>{2, 10, 9, 6, 3}));
  EXPECT_EQ(dataset.ids[2], (std::vector<int32_t>{2, 5, 1, 3}));
  EXPECT_EQ(dataset.labels, (std::vector<int64_t>{1, 0, -1}));
  EXPECT_EQ(dataset.total_tokens(), 16);
}

TEST(TokenizeReviews, TruncatesToMaxLengthIncludingSpecials) {
  TokenizedDataset dataset = tokenize_reviews(three_reviews(), testing::small_tokenizer(), 4);
  EXPECT_EQ(dataset.ids[0], (std::vector<int32_t>{2, 5, 6, 3}));
  EXPECT_EQ(dataset.ids[2], (std::vector<int32_t>{2, 5, 1, 3}));
}

TEST(TokenizeReviews, RejectsMaxLengthThatCannotHoldTheSpecials) {
  EXPECT_THROW(tokenize_reviews(three_reviews(), testing::small_tokenizer(), 1), Error);
  EXPECT_THROW(tokenize_reviews(three_reviews(), testing::small_tokenizer(), -3), Error);
}

TEST(TokenizeReviews, ParallelResultMatchesEncodingOneByOne) {
  text::Tokenizer tokenizer = testing::small_tokenizer();
  std::vector<Review> reviews = many_reviews(1000);
  TokenizedDataset dataset = tokenize_reviews(reviews, tokenizer, 128);
  ASSERT_EQ(dataset.size(), 1000);
  int64_t total = 0;
  for (size_t i = 0; i < reviews.size(); ++i) {
    ASSERT_EQ(dataset.ids[i], tokenizer.encode(reviews[i].text, 128)) << i;
    ASSERT_EQ(dataset.labels[i], reviews[i].label);
    total += static_cast<int64_t>(dataset.ids[i].size());
  }
  EXPECT_EQ(dataset.total_tokens(), total);
}

TEST(TokenCache, SecondCallIsAHitWithEqualResult) {
  TempDir cache;
  text::Tokenizer tokenizer = testing::small_tokenizer();
  std::vector<Review> reviews = many_reviews(300);
  CachedTokenization first = tokenize_reviews_with_cache(reviews, tokenizer, 64, cache.path());
  EXPECT_FALSE(first.cache_hit);
  EXPECT_TRUE(fs::is_regular_file(first.cache_file));
  EXPECT_EQ(first.cache_file.parent_path().parent_path(), cache.path());

  CachedTokenization second = tokenize_reviews_with_cache(reviews, tokenizer, 64, cache.path());
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.cache_file, first.cache_file);
  EXPECT_EQ(second.dataset.ids, first.dataset.ids);
  EXPECT_EQ(second.dataset.labels, first.dataset.labels);
  EXPECT_EQ(second.dataset.ids, tokenize_reviews(reviews, tokenizer, 64).ids);

  TokenizedDataset plain = tokenize_reviews_cached(reviews, tokenizer, 64, cache.path());
  EXPECT_EQ(plain.ids, first.dataset.ids);
}

TEST(TokenCache, KeyCoversMaxLengthTextsLabelsAndTokenizer) {
  TempDir cache;
  text::Tokenizer tokenizer = testing::small_tokenizer();
  std::vector<Review> reviews = three_reviews();
  fs::path original = tokenize_reviews_with_cache(reviews, tokenizer, 16, cache.path()).cache_file;

  CachedTokenization shorter = tokenize_reviews_with_cache(reviews, tokenizer, 4, cache.path());
  EXPECT_FALSE(shorter.cache_hit);
  EXPECT_NE(shorter.cache_file, original);
  EXPECT_EQ(shorter.dataset.ids[0].size(), 4u);

  std::vector<Review> edited = reviews;
  edited[1].text = "A great movie";
  CachedTokenization after_edit = tokenize_reviews_with_cache(edited, tokenizer, 16, cache.path());
  EXPECT_FALSE(after_edit.cache_hit);
  EXPECT_EQ(after_edit.dataset.ids[1], (std::vector<int32_t>{2, 10, 8, 6, 3}));

  std::vector<Review> relabeled = reviews;
  relabeled[0].label = 0;
  EXPECT_FALSE(tokenize_reviews_with_cache(relabeled, tokenizer, 16, cache.path()).cache_hit);

  text::Tokenizer other = text::Tokenizer::from_vocab({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "movie"});
  CachedTokenization other_vocab = tokenize_reviews_with_cache(reviews, other, 16, cache.path());
  EXPECT_FALSE(other_vocab.cache_hit);
  EXPECT_EQ(other_vocab.dataset.ids[1], (std::vector<int32_t>{2, 1, 1, 5, 3}));
}

// Damages the cache file, then checks that the next call ignores it with a
// warning, tokenizes again and repairs the file so that the call after hits.
void expect_rebuilt_after(const std::function<std::string(const std::string&)>& damage) {
  TempDir cache;
  text::Tokenizer tokenizer = testing::small_tokenizer();
  std::vector<Review> reviews = many_reviews(50);
  CachedTokenization first = tokenize_reviews_with_cache(reviews, tokenizer, 64, cache.path());
  write_bytes(first.cache_file, damage(read_bytes(first.cache_file)));

  ::testing::internal::CaptureStderr();
  CachedTokenization rebuilt = tokenize_reviews_with_cache(reviews, tokenizer, 64, cache.path());
  std::string warnings = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(rebuilt.cache_hit);
  EXPECT_NE(warnings.find("ignoring token cache " + first.cache_file.string()), std::string::npos) << warnings;
  EXPECT_EQ(rebuilt.dataset.ids, first.dataset.ids);
  EXPECT_EQ(rebuilt.dataset.labels, first.dataset.labels);
  EXPECT_TRUE(tokenize_reviews_with_cache(reviews, tokenizer, 64, cache.path()).cache_hit);
}

TEST(TokenCache, GarbageFileIsRebuilt) {
  expect_rebuilt_after([](const std::string&) { return std::string("not a cache at all"); });
}

TEST(TokenCache, TruncatedFileIsRebuilt) {
  expect_rebuilt_after([](const std::string& bytes) { return bytes.substr(0, bytes.size() / 2); });
}

TEST(TokenCache, FlippedTokenByteIsRebuilt) {
  expect_rebuilt_after([](const std::string& bytes) {
    std::string damaged = bytes;
    damaged[damaged.size() - 20] ^= 0x40;  // inside the token ids, before the checksum
    return damaged;
  });
}

TEST(TokenCache, EmptyFileIsRebuilt) {
  expect_rebuilt_after([](const std::string&) { return std::string(); });
}

TEST(TokenCache, UnwritableCacheDirStillTokenizes) {
  TempDir dir;
  fs::path blocker = dir.path() / "file-not-dir";
  testing::write_text(blocker, "x");
  ::testing::internal::CaptureStderr();
  CachedTokenization result = tokenize_reviews_with_cache(three_reviews(), testing::small_tokenizer(), 16, blocker);
  std::string warnings = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(result.cache_hit);
  EXPECT_EQ(result.dataset.size(), 3);
  EXPECT_NE(warnings.find("could not write token cache"), std::string::npos) << warnings;
}

TEST(TokenCache, EmptyReviewListRoundTrips) {
  TempDir cache;
  text::Tokenizer tokenizer = testing::small_tokenizer();
  EXPECT_FALSE(tokenize_reviews_with_cache({}, tokenizer, 16, cache.path()).cache_hit);
  CachedTokenization again = tokenize_reviews_with_cache({}, tokenizer, 16, cache.path());
  EXPECT_TRUE(again.cache_hit);
  EXPECT_EQ(again.dataset.size(), 0);
}

// Sets an environment variable for one scope and restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(DefaultCacheDir, FollowsWhittleCacheThenXdgThenHome) {
  ScopedEnv home("HOME", "/home/tester");
  {
    ScopedEnv whittle_cache("WHITTLE_CACHE", "/data/whittle-cache");
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(default_cache_dir(), fs::path("/data/whittle-cache"));
  }
  {
    ScopedEnv whittle_cache("WHITTLE_CACHE", nullptr);
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(default_cache_dir(), fs::path("/xdg/whittle"));
  }
  {
    ScopedEnv whittle_cache("WHITTLE_CACHE", "");
    ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
    EXPECT_EQ(default_cache_dir(), fs::path("/home/tester/.cache/whittle"));
  }
}


// A cache the disk has no room for costs only time: the tokens come back,
// no cache file (whole or partial) is left, and the next call tokenizes again.
TEST(TokenCache, ACacheTheDiskHasNoRoomForIsSkippedWithoutLeavingAPart) {
  TempDir cache;
  text::Tokenizer tokenizer = testing::small_tokenizer();
  std::vector<Review> reviews = many_reviews(300);
  std::optional<CachedTokenization> tokenized;
  {
    test_support::FileSizeLimit limit(1024);
    tokenized = tokenize_reviews_with_cache(reviews, tokenizer, 64, cache.path());
  }
  EXPECT_EQ(tokenized->dataset.ids, tokenize_reviews(reviews, tokenizer, 64).ids);
  EXPECT_FALSE(fs::exists(tokenized->cache_file));
  EXPECT_TRUE(fs::is_empty(tokenized->cache_file.parent_path())) << "no temporary left";
  EXPECT_FALSE(tokenize_reviews_with_cache(reviews, tokenizer, 64, cache.path()).cache_hit);
}

}  // namespace
}  // namespace whittle::data
