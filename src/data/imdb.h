#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace whittle::data {

enum class Split { train, test, unsup };
std::string split_name(Split split);

struct Review {
  std::string id;    // "train/pos/123_9": split/label-folder/file stem
  std::string text;  // raw review text as stored (HTML <br /> included)
  int64_t label;     // 0 = negative, 1 = positive, -1 = unlabeled
};

// Reads one split of the original aclImdb layout. `source` is either
// aclImdb_v1.tar.gz (read in place with libarchive), the folder `aclImdb`
// itself, or a folder that contains it. Order is deterministic: sorted by id.
// Throws whittle::Error naming the problem (missing path, no aclImdb inside,
// empty split).
std::vector<Review> read_imdb(const std::filesystem::path& source, Split split);

// A class-balanced subset of at most `limit` reviews (limit <= 0 keeps all),
// chosen with a seeded shuffle, returned in id order.
std::vector<Review> balanced_subset(std::vector<Review> reviews, int64_t limit, uint64_t seed);

}  // namespace whittle::data
