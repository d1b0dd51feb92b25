// The IMDb reader on archive bytes (tar, possibly gzip- or otherwise
// compressed) as `--data aclImdb_v1.tar.gz` reads them, for each split.
// Every review it returns must belong to the split asked for.
#include "data/imdb_sources.h"
#include "fuzz_support.h"
#include "util/error.h"

namespace {

using namespace whittle;

void read_split(std::string_view bytes, data::Split split) {
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
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (data::Split split : {data::Split::train, data::Split::test, data::Split::unsup}) read_split(bytes, split);
  return 0;
}
