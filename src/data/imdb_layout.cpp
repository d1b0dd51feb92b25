#include <algorithm>
#include <cctype>

#include "data/imdb_sources.h"

namespace whittle::data {
namespace {

constexpr std::string_view review_extension = ".txt";

// Folder below aclImdb/ that a split's files live in: unsup is part of train/.
std::string_view split_folder(Split split) { return split == Split::test ? "test" : "train"; }

int64_t label_of_folder(std::string_view folder) {
  if (folder == "pos") return 1;
  if (folder == "neg") return 0;
  return -1;
}

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

std::string_view digit_run(std::string_view text, size_t start) {
  size_t end = start;
  while (end < text.size() && is_digit(text[end])) ++end;
  return text.substr(start, end - start);
}

// Compares two runs of digits by value without converting them (runs may be
// longer than any integer type).
int compare_numbers(std::string_view a, std::string_view b) {
  auto strip_zeros = [](std::string_view run) {
    size_t first = run.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view() : run.substr(first);
  };
  a = strip_zeros(a);
  b = strip_zeros(b);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b);
}

int natural_compare(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      std::string_view run_a = digit_run(a, i), run_b = digit_run(b, j);
      if (int order = compare_numbers(run_a, run_b); order != 0) return order;
      i += run_a.size();
      j += run_b.size();
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
      ++i;
      ++j;
    }
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
}

}  // namespace

std::vector<std::string> review_folders(Split split) {
  std::string folder(split_folder(split));
  if (split == Split::unsup) return {folder + "/unsup"};
  return {folder + "/neg", folder + "/pos"};
}

std::optional<ReviewLocation> locate_review(std::string_view path_below_root, Split split) {
  // Exactly <split folder>/<class folder>/<stem>.txt
  size_t first_slash = path_below_root.find('/');
  if (first_slash == std::string_view::npos) return std::nullopt;
  size_t second_slash = path_below_root.find('/', first_slash + 1);
  if (second_slash == std::string_view::npos) return std::nullopt;
  if (path_below_root.find('/', second_slash + 1) != std::string_view::npos) return std::nullopt;

  std::string_view split_part = path_below_root.substr(0, first_slash);
  std::string_view class_part = path_below_root.substr(first_slash + 1, second_slash - first_slash - 1);
  std::string_view file_part = path_below_root.substr(second_slash + 1);
  if (split_part != split_folder(split)) return std::nullopt;
  bool wanted_class = split == Split::unsup ? class_part == "unsup" : (class_part == "pos" || class_part == "neg");
  if (!wanted_class) return std::nullopt;
  if (file_part.size() <= review_extension.size() || !file_part.ends_with(review_extension)) return std::nullopt;

  std::string_view stem = file_part.substr(0, file_part.size() - review_extension.size());
  std::string id;
  id.reserve(path_below_root.size());
  id.append(split_part).append("/").append(class_part).append("/").append(stem);
  return ReviewLocation{std::move(id), label_of_folder(class_part)};
}

bool review_id_less(std::string_view a, std::string_view b) {
  int order = natural_compare(a, b);
  // "7" and "007" are equal as numbers; plain comparison keeps the order strict.
  return order != 0 ? order < 0 : a < b;
}

void sort_by_id(std::vector<Review>& reviews) {
  std::sort(reviews.begin(), reviews.end(),
            [](const Review& a, const Review& b) { return review_id_less(a.id, b.id); });
}

}  // namespace whittle::data
