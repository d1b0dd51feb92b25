#include <archive.h>
#include <archive_entry.h>

#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "data/imdb_sources.h"
#include "util/error.h"

namespace whittle::data {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view archive_root = "aclImdb/";
constexpr size_t read_block_bytes = 1 << 20;
// IMDb reviews are at most a few kB. A member beyond this is not a review, and
// reading it whole (or reserving what its header claims) could exhaust memory.
constexpr int64_t max_review_bytes = 16 << 20;

struct ArchiveReaderFree {
  void operator()(archive* reader) const { archive_read_free(reader); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReaderFree>;

[[noreturn]] void throw_archive_error(archive* reader, const fs::path& path) {
  const char* message = archive_error_string(reader);
  throw Error("cannot read IMDb archive " + path.string() + ": " +
              (message != nullptr ? message : "unknown libarchive error"));
}

std::string_view entry_path(archive_entry* entry) {
  const char* name = archive_entry_pathname(entry);
  std::string_view path = name != nullptr ? name : "";
  while (path.starts_with("./")) path.remove_prefix(2);
  return path;
}

[[noreturn]] void throw_too_large(archive_entry* entry, const fs::path& path) {
  throw Error("IMDb archive " + path.string() + ": member " + std::string(entry_path(entry)) + " is larger than " +
              std::to_string(max_review_bytes >> 20) + " MB, too large for a review");
}

std::string read_entry_text(archive* reader, archive_entry* entry, const fs::path& path) {
  std::string text;
  if (archive_entry_size_is_set(entry)) {
    const la_int64_t claimed = archive_entry_size(entry);  // negative in some corrupt headers
    if (claimed > max_review_bytes) throw_too_large(entry, path);
    if (claimed > 0) text.reserve(static_cast<size_t>(claimed));
  }
  char chunk[16384];
  la_ssize_t count;
  while ((count = archive_read_data(reader, chunk, sizeof chunk)) > 0) {
    if (text.size() + static_cast<size_t>(count) > static_cast<size_t>(max_review_bytes)) throw_too_large(entry, path);
    text.append(chunk, static_cast<size_t>(count));
  }
  if (count < 0) throw_archive_error(reader, path);
  return text;
}

bool is_link(archive_entry* entry) {
  return archive_entry_filetype(entry) == AE_IFLNK || archive_entry_hardlink(entry) != nullptr;
}

}  // namespace

// `open` opens the fresh reader on the archive's bytes; `path` names it in errors.
static std::vector<Review> read_archive(const fs::path& path, Split split, const std::function<int(archive*)>& open) {
  ArchiveReader owner(archive_read_new());
  archive* reader = owner.get();
  archive_read_support_filter_all(reader);
  archive_read_support_format_tar(reader);
  if (open(reader) != ARCHIVE_OK)
    throw_archive_error(reader, path);

  // The archive is a single compressed stream, so every entry is decompressed
  // anyway; only the wanted split's texts are kept (the rest is skipped by
  // the next archive_read_next_header).
  std::vector<Review> reviews;
  std::vector<std::string> skipped_links;
  bool saw_root = false;
  archive_entry* entry = nullptr;
  while (true) {
    int status = archive_read_next_header(reader, &entry);
    if (status == ARCHIVE_EOF) break;
    if (status < ARCHIVE_WARN) throw_archive_error(reader, path);
    std::string_view name = entry_path(entry);
    if (!name.starts_with(archive_root)) continue;
    saw_root = true;
    std::optional<ReviewLocation> location = locate_review(name.substr(archive_root.size()), split);
    if (!location) continue;
    // Links are not followed (a symlink may point anywhere on the disk; a
    // hard link's data lives in an earlier member), but never dropped silently.
    if (is_link(entry)) {
      skipped_links.push_back(std::string(name));
      continue;
    }
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    reviews.push_back(Review{std::move(location->id), read_entry_text(reader, entry, path), location->label});
  }
  if (!saw_root) throw Error("IMDb archive " + path.string() + " holds no aclImdb/ folder");
  if (!skipped_links.empty()) {
    std::cerr << "whittle: warning: IMDb archive " << path.string() << ": skipped " << skipped_links.size()
              << " review(s) stored as links, which are not followed (first: " << skipped_links.front() << ")\n";
  }
  return reviews;
}

std::vector<Review> read_imdb_archive(const fs::path& path, Split split) {
  return read_archive(path, split, [&](archive* reader) {
    return archive_read_open_filename(reader, path.c_str(), read_block_bytes);
  });
}

std::vector<Review> read_imdb_archive_bytes(std::string_view bytes, const std::string& origin, Split split) {
  return read_archive(origin, split, [&](archive* reader) {
    return archive_read_open_memory(reader, bytes.data(), bytes.size());
  });
}

}  // namespace whittle::data
