// The IMDb reader on archive bytes (tar, possibly gzip- or otherwise
// compressed) as `--data aclImdb_v1.tar.gz` reads them, for one split (the
// byte sum of the input picks it: reading the archive three times would only
// triple the cost). Every review it returns must belong to that split.
//
// Each tar header carries a checksum of its 512 bytes, and libarchive stops
// at the first one that does not match: in an uncompressed tar the target
// sets every header's checksum, so that mutated sizes, names, types and
// links reach the reader. Compressed inputs are read as they are.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "data/imdb_sources.h"
#include "fuzz_support.h"
#include "util/error.h"

namespace {

using namespace whittle;

constexpr size_t kBlock = 512;
constexpr size_t kSizeField = 124, kSizeBytes = 12, kChecksumField = 148, kChecksumBytes = 8, kMagicField = 257;

// The member's data size from its header's octal size field, or nothing for
// base-256 sizes and garbage (the walk then stops).
std::optional<size_t> octal_size(const char* header) {
  size_t size = 0;
  for (size_t i = kSizeField; i < kSizeField + kSizeBytes; ++i) {
    if (header[i] == ' ' || header[i] == '\0') continue;
    if (header[i] < '0' || header[i] > '7' || size > (SIZE_MAX >> 3)) return std::nullopt;
    size = size * 8 + static_cast<size_t>(header[i] - '0');
  }
  return size;
}

void seal_tar_headers(std::string& bytes) {
  if (bytes.size() < kBlock || bytes.compare(kMagicField, 5, "ustar") != 0) return;
  for (size_t at = 0; at + kBlock <= bytes.size();) {
    char* header = bytes.data() + at;
    if (std::all_of(header, header + kBlock, [](char byte) { return byte == 0; })) return;  // end of the archive
    std::memset(header + kChecksumField, ' ', kChecksumBytes);
    unsigned sum = 0;
    for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(header[i]);
    char digits[kChecksumBytes];
    std::snprintf(digits, sizeof digits, "%06o", sum & 0777777u);
    std::memcpy(header + kChecksumField, digits, 7);  // six digits and a NUL, then the space already there
    const std::optional<size_t> size = octal_size(header);
    if (!size || *size > bytes.size()) return;
    at += kBlock + (*size + kBlock - 1) / kBlock * kBlock;
  }
}

void read_split(const std::string& bytes, data::Split split) {
  try {
    for (const data::Review& review : data::read_imdb_archive_bytes(bytes, "fuzz.tar.gz", split)) {
      const std::string folder = split == data::Split::test ? "test/" : "train/";
      if (!review.id.starts_with(folder) || review.label < -1 || review.label > 1 ||
          (split == data::Split::unsup) != (review.label == -1)) {
        fuzz::round_trip_failed("a review outside its split");
      }
    }
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes = fuzz::input_string(data, size);
  seal_tar_headers(bytes);
  unsigned byte_sum = 0;
  for (size_t i = 0; i < size; ++i) byte_sum += data[i];
  constexpr data::Split kSplits[] = {data::Split::train, data::Split::test, data::Split::unsup};
  read_split(bytes, kSplits[byte_sum % 3]);
  return 0;
}
