#include "data/imdb.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <set>

#include "data/test_support.h"
#include "util/error.h"
#include "support/error_message.h"

namespace whittle::data {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

std::vector<std::string> ids_of(const std::vector<Review>& reviews) {
  std::vector<std::string> ids;
  for (const Review& review : reviews) ids.push_back(review.id);
  return ids;
}

using test_support::error_message;

fs::path fixture_tarball(const TempDir& dir) {
  fs::path path = dir.path() / "aclImdb_v1.tar.gz";
  testing::write_tar_gz(path, testing::entries_of_directory(testing::imdb_fixture() / "aclImdb", "aclImdb"));
  return path;
}

void expect_same_reviews(const std::vector<Review>& expected, const std::vector<Review>& actual) {
  ASSERT_EQ(ids_of(expected), ids_of(actual));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].text, actual[i].text) << expected[i].id;
    EXPECT_EQ(expected[i].label, actual[i].label) << expected[i].id;
  }
}

TEST(ReadImdb, ReadsTrainSplitFromFolderHoldingAclImdbInNaturalIdOrder) {
  std::vector<Review> reviews = read_imdb(testing::imdb_fixture(), Split::train);
  EXPECT_EQ(ids_of(reviews), (std::vector<std::string>{"train/neg/0_1", "train/neg/3_2", "train/neg/11_4",
                                                         "train/pos/0_7", "train/pos/2_9", "train/pos/10_8"}));
  for (size_t i = 0; i < reviews.size(); ++i) EXPECT_EQ(reviews[i].label, i < 3 ? 0 : 1) << reviews[i].id;
  EXPECT_EQ(reviews[4].text, "A great movie with a great cast.<br /><br />I loved it.");
}

TEST(ReadImdb, ReadsTestSplitFromTheAclImdbFolderItself) {
  std::vector<Review> reviews = read_imdb(testing::imdb_fixture() / "aclImdb", Split::test);
  EXPECT_EQ(ids_of(reviews),
            (std::vector<std::string>{"test/neg/0_1", "test/neg/5_3", "test/pos/0_10", "test/pos/1_8"}));
  EXPECT_EQ(reviews[3].text, "A caf\xc3\xa9 scene steals the show; a good watch.");
  EXPECT_EQ(reviews[3].label, 1);
}

TEST(ReadImdb, UnsupReviewsComeFromTrainUnsupAndAreUnlabeled) {
  std::vector<Review> reviews = read_imdb(testing::imdb_fixture(), Split::unsup);
  EXPECT_EQ(ids_of(reviews), (std::vector<std::string>{"train/unsup/0_0", "train/unsup/1_0"}));
  for (const Review& review : reviews) EXPECT_EQ(review.label, -1);
  EXPECT_EQ(reviews[1].text, "The movie has a dog and a cat.");
}

TEST(ReadImdb, TarballGivesTheSameReviewsAsTheFolder) {
  TempDir dir;
  fs::path tarball = fixture_tarball(dir);
  for (Split split : {Split::train, Split::test, Split::unsup}) {
    SCOPED_TRACE(split_name(split));
    expect_same_reviews(read_imdb(testing::imdb_fixture(), split), read_imdb(tarball, split));
  }
}

TEST(ReadImdb, TarballWithDotSlashPrefixedNamesIsRead) {
  TempDir dir;
  fs::path tarball = dir.path() / "imdb.tar.gz";
  testing::write_tar_gz(tarball, testing::entries_of_directory(testing::imdb_fixture() / "aclImdb", "./aclImdb"));
  expect_same_reviews(read_imdb(testing::imdb_fixture(), Split::test), read_imdb(tarball, Split::test));
}

// Links are not followed, but the reader says it skipped them.
TEST(ReadImdb, LinkMembersOfATarballAreSkippedWithAWarning) {
  TempDir dir;
  const fs::path payload = dir.path() / "payload";
  fs::create_directories(payload);
  fs::copy(testing::imdb_fixture() / "aclImdb", payload / "aclImdb", fs::copy_options::recursive);
  const fs::path pos = payload / "aclImdb" / "test" / "pos";
  const fs::path first_review = *fs::directory_iterator(pos);
  fs::create_symlink("/etc/hostname", pos / "9001_9.txt");
  fs::create_hard_link(first_review, pos / "9002_9.txt");
  const fs::path tarball = dir.path() / "links.tar.gz";
  const std::string command = "tar czf '" + tarball.string() + "' -C '" + payload.string() + "' aclImdb";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  ::testing::internal::CaptureStderr();
  std::vector<Review> reviews = read_imdb(tarball, Split::test);
  const std::string warning = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(reviews.size(), read_imdb(testing::imdb_fixture(), Split::test).size());
  EXPECT_NE(warning.find("skipped 2 review(s) stored as links"), std::string::npos) << warning;
  EXPECT_NE(warning.find(tarball.string()), std::string::npos) << warning;
}

TEST(ReadImdb, FifoIsRefusedWithoutOpeningIt) {
  TempDir dir;
  const fs::path fifo = dir.path() / "data.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string message = error_message([&] { read_imdb(fifo, Split::train); });
  EXPECT_NE(message.find(fifo.string() + " is a FIFO, not a folder or an archive"), std::string::npos) << message;
}

TEST(ReadImdb, MissingPathIsNamed) {
  std::string message = error_message([] { read_imdb("/nonexistent/aclImdb_v1.tar.gz", Split::train); });
  EXPECT_NE(message.find("/nonexistent/aclImdb_v1.tar.gz"), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
}

TEST(ReadImdb, EmptyDirectoryIsReported) {
  TempDir dir;
  std::string message = error_message([&] { read_imdb(dir.path(), Split::train); });
  EXPECT_NE(message.find(dir.path().string()), std::string::npos) << message;
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
}

TEST(ReadImdb, DirectoryWithoutAclImdbIsReported) {
  TempDir dir;
  testing::write_text(dir.path() / "notes.txt", "nothing here");
  std::string message = error_message([&] { read_imdb(dir.path(), Split::train); });
  EXPECT_NE(message.find("no aclImdb folder in " + dir.path().string()), std::string::npos) << message;
}

TEST(ReadImdb, TarballWithoutAclImdbIsReported) {
  TempDir dir;
  fs::path tarball = dir.path() / "other.tar.gz";
  testing::write_tar_gz(tarball, {{"other/", ""}, {"other/train/pos/1_9.txt", "Great."}});
  std::string message = error_message([&] { read_imdb(tarball, Split::train); });
  EXPECT_NE(message.find(tarball.string()), std::string::npos) << message;
  EXPECT_NE(message.find("no aclImdb/ folder"), std::string::npos) << message;
}

TEST(ReadImdb, GarbageFileNamedTarGzIsReportedWithLibarchiveMessage) {
  TempDir dir;
  fs::path garbage = dir.path() / "aclImdb_v1.tar.gz";
  std::string noise(4096, '\0');
  std::mt19937 generator(7);
  for (char& c : noise) c = static_cast<char>(generator() & 0xff);
  testing::write_text(garbage, noise);
  std::string message = error_message([&] { read_imdb(garbage, Split::train); });
  std::string prefix = "cannot read IMDb archive " + garbage.string() + ": ";
  ASSERT_EQ(message.rfind(prefix, 0), 0u) << message;
  EXPECT_GT(message.size(), prefix.size() + 5) << "libarchive's reason is missing: " << message;
}

TEST(ReadImdb, TruncatedTarballIsReported) {
  TempDir dir;
  fs::path whole = fixture_tarball(dir);
  std::ifstream in(whole, std::ios::binary);
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  fs::path truncated = dir.path() / "truncated.tar.gz";
  testing::write_text(truncated, bytes.substr(0, bytes.size() / 2));
  std::string message = error_message([&] { read_imdb(truncated, Split::train); });
  EXPECT_NE(message.find(truncated.string()), std::string::npos) << message;
}

TEST(ReadImdb, MemberTooLargeForAReviewIsRefused) {
  TempDir dir;
  fs::path tarball = dir.path() / "imdb.tar.gz";
  testing::write_tar_gz(tarball, {{"aclImdb/", ""}, {"aclImdb/train/pos/1_9.txt", std::string(17 << 20, 'a')}});
  std::string message = error_message([&] { read_imdb(tarball, Split::train); });
  EXPECT_NE(message.find("aclImdb/train/pos/1_9.txt is larger than 16 MB"), std::string::npos) << message;
}

TEST(ReadImdb, SplitWithoutReviewsIsReported) {
  TempDir dir;
  testing::write_text(dir.path() / "aclImdb" / "train" / "pos" / "1_9.txt", "Great.");
  std::string message = error_message([&] { read_imdb(dir.path(), Split::test); });
  EXPECT_NE(message.find("no test reviews in " + dir.path().string()), std::string::npos) << message;
  EXPECT_EQ(read_imdb(dir.path(), Split::train).size(), 1u);
}

std::vector<Review> synthetic_reviews(int positives, int negatives, int unlabeled) {
  std::vector<Review> reviews;
  for (int i = 0; i < positives; ++i) reviews.push_back({"train/pos/" + std::to_string(i) + "_8", "good", 1});
  for (int i = 0; i < negatives; ++i) reviews.push_back({"train/neg/" + std::to_string(i) + "_2", "bad", 0});
  for (int i = 0; i < unlabeled; ++i) reviews.push_back({"train/unsup/" + std::to_string(i) + "_0", "meh", -1});
  return reviews;
}

int64_t count_label(const std::vector<Review>& reviews, int64_t label) {
  return std::count_if(reviews.begin(), reviews.end(), [&](const Review& r) { return r.label == label; });
}

// Ids here are "<split>/<class>/<number>_<rating>": ordered by folder, then number.
bool sorted_by_natural_id(const std::vector<Review>& reviews) {
  auto key = [](const std::string& id) {
    size_t slash = id.rfind('/');
    return std::make_pair(id.substr(0, slash), std::stoi(id.substr(slash + 1)));
  };
  return std::is_sorted(reviews.begin(), reviews.end(),
                        [&](const Review& a, const Review& b) { return key(a.id) < key(b.id); });
}

TEST(BalancedSubset, TakesHalfOfEachClassInIdOrder) {
  std::vector<Review> subset = balanced_subset(synthetic_reviews(70, 30, 0), 20, 1);
  ASSERT_EQ(subset.size(), 20u);
  EXPECT_EQ(count_label(subset, 0), 10);
  EXPECT_EQ(count_label(subset, 1), 10);
  EXPECT_TRUE(sorted_by_natural_id(subset));
  std::set<std::string> distinct;
  for (const Review& review : subset) distinct.insert(review.id);
  EXPECT_EQ(distinct.size(), 20u);
}

TEST(BalancedSubset, FillsFromTheLargerClassWhenTheOtherRunsOut) {
  std::vector<Review> subset = balanced_subset(synthetic_reviews(70, 30, 0), 80, 1);
  EXPECT_EQ(count_label(subset, 0), 30);
  EXPECT_EQ(count_label(subset, 1), 50);
}

TEST(BalancedSubset, OddLimitDiffersByAtMostOne) {
  std::vector<Review> subset = balanced_subset(synthetic_reviews(40, 40, 0), 21, 3);
  ASSERT_EQ(subset.size(), 21u);
  EXPECT_LE(std::abs(count_label(subset, 0) - count_label(subset, 1)), 1);
}

TEST(BalancedSubset, SameSeedSameSubsetWhateverTheInputOrder) {
  std::vector<Review> reviews = synthetic_reviews(50, 50, 0);
  std::vector<Review> shuffled = reviews;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(99));
  EXPECT_EQ(ids_of(balanced_subset(reviews, 10, 42)), ids_of(balanced_subset(shuffled, 10, 42)));
  EXPECT_NE(ids_of(balanced_subset(reviews, 10, 42)), ids_of(balanced_subset(reviews, 10, 43)));
}

TEST(BalancedSubset, UnlabeledReviewsGiveAPlainRandomSubset) {
  std::vector<Review> reviews = synthetic_reviews(0, 0, 30);
  std::vector<Review> subset = balanced_subset(reviews, 7, 5);
  ASSERT_EQ(subset.size(), 7u);
  EXPECT_EQ(count_label(subset, -1), 7);
  EXPECT_TRUE(sorted_by_natural_id(subset));
  EXPECT_NE(ids_of(subset), ids_of(balanced_subset(reviews, 7, 6)));
}

TEST(BalancedSubset, NonPositiveOrLargeLimitKeepsEverythingSorted) {
  std::vector<Review> reviews = synthetic_reviews(3, 12, 0);
  std::vector<Review> all = balanced_subset(reviews, 0, 1);
  ASSERT_EQ(all.size(), 15u);
  EXPECT_EQ(all.front().id, "train/neg/0_2");
  EXPECT_EQ(all[2].id, "train/neg/2_2");
  EXPECT_EQ(all[10].id, "train/neg/10_2");
  EXPECT_EQ(balanced_subset(reviews, -5, 1).size(), 15u);
  EXPECT_EQ(balanced_subset(reviews, 100, 1).size(), 15u);
}

}  // namespace
}  // namespace whittle::data
