#include <system_error>

#include "data/imdb_sources.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::data {
namespace fs = std::filesystem;

std::vector<Review> read_imdb_directory(const fs::path& root, Split split) {
  std::vector<Review> reviews;
  for (const std::string& folder : review_folders(split)) {
    fs::path folder_path = root / folder;
    std::error_code error;
    if (!fs::is_directory(folder_path, error)) continue;
    fs::directory_iterator entries(folder_path, error);
    if (error) throw Error("cannot list " + folder_path.string() + ": " + error.message());
    for (const fs::directory_entry& entry : entries) {
      if (!entry.is_regular_file(error)) continue;
      std::optional<ReviewLocation> location = locate_review(folder + "/" + entry.path().filename().string(), split);
      if (!location) continue;
      reviews.push_back(Review{std::move(location->id), read_file(entry.path()), location->label});
    }
  }
  return reviews;
}

}  // namespace whittle::data
