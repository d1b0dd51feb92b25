#pragma once
// Internal to whittle_data: the two ways of reading the aclImdb layout
// (a folder tree or the original tarball) share the path rules below.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/imdb.h"

namespace whittle::data {

struct ReviewLocation {
  std::string id;  // "train/pos/123_9"
  int64_t label;
};

// Where a file below aclImdb/ (e.g. "train/pos/123_9.txt") belongs, or
// nothing when it is not a review of `split` (other splits, urls_*.txt,
// imdb.vocab, labeledBow.feat, ...).
std::optional<ReviewLocation> locate_review(std::string_view path_below_root, Split split);

// The class folders below aclImdb/ that hold the reviews of `split`.
std::vector<std::string> review_folders(Split split);

// `root` is the aclImdb folder itself. Both throw whittle::Error; an empty
// result is returned as is (the caller reports a split without reviews).
std::vector<Review> read_imdb_directory(const std::filesystem::path& root, Split split);
std::vector<Review> read_imdb_archive(const std::filesystem::path& archive, Split split);
// The same for an archive's bytes in memory; `origin` names it in errors.
std::vector<Review> read_imdb_archive_bytes(std::string_view bytes, const std::string& origin, Split split);

// Review ids compared with digit runs as numbers, so that "train/pos/2_7"
// comes before "train/pos/10_8".
bool review_id_less(std::string_view a, std::string_view b);
void sort_by_id(std::vector<Review>& reviews);

}  // namespace whittle::data
