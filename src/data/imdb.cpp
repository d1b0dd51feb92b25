#include "data/imdb.h"

#include <algorithm>
#include <map>
#include <random>
#include <system_error>

#include "data/imdb_sources.h"
#include "util/error.h"
#include "util/path_checks.h"

namespace whittle::data {
namespace fs = std::filesystem;
namespace {

// `dir` may be the aclImdb folder itself (possibly renamed) or hold it.
fs::path find_imdb_root(const fs::path& dir) {
  std::error_code error;
  if (fs::is_directory(dir / "aclImdb", error)) return dir / "aclImdb";
  if (fs::is_directory(dir / "train", error) || fs::is_directory(dir / "test", error)) return dir;
  if (fs::is_empty(dir, error))
    throw Error("IMDb folder " + dir.string() + " is empty (expected aclImdb/ or aclImdb_v1.tar.gz)");
  throw Error("no aclImdb folder in " + dir.string() + " (expected aclImdb/train, aclImdb/test)");
}

std::vector<Review> read_any_source(const fs::path& source, Split split) {
  std::error_code error;
  fs::file_status status = fs::status(source, error);
  if (!fs::exists(status)) throw Error("IMDb data not found: " + source.string() + " does not exist");
  if (fs::is_directory(status)) return read_imdb_directory(find_imdb_root(source), split);
  // Opening a FIFO or a device would block or read without end.
  if (!fs::is_regular_file(status))
    throw Error("IMDb data at " + source.string() + " is " + describe_path_kind(source) +
                ", not a folder or an archive (give aclImdb/ or aclImdb_v1.tar.gz)");
  return read_imdb_archive(source, split);
}

std::string expected_layout(Split split) {
  std::string folders;
  for (const std::string& folder : review_folders(split)) {
    if (!folders.empty()) folders += ", ";
    folders += "aclImdb/" + folder + "/*.txt";
  }
  return folders;
}

// How many reviews to take from each group: as equal as the group sizes
// allow, the first groups getting the remainder of an uneven split.
std::vector<size_t> balanced_quotas(const std::vector<size_t>& group_sizes, size_t limit) {
  std::vector<size_t> quotas(group_sizes.size(), 0);
  size_t assigned = 0;
  bool progress = true;
  while (assigned < limit && progress) {
    progress = false;
    for (size_t group = 0; group < group_sizes.size() && assigned < limit; ++group) {
      if (quotas[group] == group_sizes[group]) continue;
      ++quotas[group];
      ++assigned;
      progress = true;
    }
  }
  return quotas;
}

}  // namespace

std::string split_name(Split split) {
  switch (split) {
    case Split::train: return "train";
    case Split::test: return "test";
    case Split::unsup: return "unsup";
  }
  return "unknown";
}

std::vector<Review> read_imdb(const fs::path& source, Split split) {
  std::vector<Review> reviews;
  try {
    reviews = read_any_source(source, split);
  } catch (const fs::filesystem_error& error) {
    throw Error("cannot read IMDb data at " + source.string() + ": " + error.code().message());
  }
  if (reviews.empty())
    throw Error("no " + split_name(split) + " reviews in " + source.string() + " (expected " +
                expected_layout(split) + ")");
  sort_by_id(reviews);
  return reviews;
}

std::vector<Review> balanced_subset(std::vector<Review> reviews, int64_t limit, uint64_t seed) {
  // Sorting first makes the choice independent of the order reviews came in.
  sort_by_id(reviews);
  if (limit <= 0 || static_cast<size_t>(limit) >= reviews.size()) return reviews;

  std::map<int64_t, std::vector<Review>> by_label;
  for (Review& review : reviews) by_label[review.label].push_back(std::move(review));

  std::mt19937_64 generator(seed);
  std::vector<size_t> group_sizes;
  for (auto& [label, group] : by_label) {
    std::shuffle(group.begin(), group.end(), generator);
    group_sizes.push_back(group.size());
  }
  std::vector<size_t> quotas = balanced_quotas(group_sizes, static_cast<size_t>(limit));

  std::vector<Review> subset;
  subset.reserve(static_cast<size_t>(limit));
  size_t group_index = 0;
  for (auto& [label, group] : by_label) {
    size_t quota = quotas[group_index++];
    std::move(group.begin(), group.begin() + static_cast<std::ptrdiff_t>(quota), std::back_inserter(subset));
  }
  sort_by_id(subset);
  return subset;
}

}  // namespace whittle::data
