#include "data/test_support.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace whittle::data::testing {
namespace fs = std::filesystem;

void write_tar_gz(const fs::path& path, const std::vector<TarEntry>& entries) {
  archive* writer = archive_write_new();
  auto check = [&](int status, const char* step) {
    if (status != ARCHIVE_OK) {
      std::string message = std::string(step) + ": " + archive_error_string(writer);
      archive_write_free(writer);
      throw std::runtime_error(message);
    }
  };
  check(archive_write_add_filter_gzip(writer), "gzip filter");
  check(archive_write_set_format_pax_restricted(writer), "tar format");
  check(archive_write_open_filename(writer, path.c_str()), "open");
  for (const TarEntry& item : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, item.name.c_str());
    bool directory = item.name.ends_with('/');
    archive_entry_set_filetype(entry, directory ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry, directory ? 0755 : 0644);
    archive_entry_set_size(entry, static_cast<la_int64_t>(item.content.size()));
    int status = archive_write_header(writer, entry);
    archive_entry_free(entry);
    check(status, "header");
    if (!item.content.empty() &&
        archive_write_data(writer, item.content.data(), item.content.size()) != static_cast<la_ssize_t>(item.content.size()))
      check(ARCHIVE_FATAL, "data");
  }
  check(archive_write_close(writer), "close");
  archive_write_free(writer);
}

std::vector<TarEntry> entries_of_directory(const fs::path& dir, const std::string& prefix) {
  std::vector<TarEntry> entries{{prefix + "/", ""}};
  for (const fs::directory_entry& item : fs::recursive_directory_iterator(dir)) {
    std::string name = prefix + "/" + fs::relative(item.path(), dir).generic_string();
    if (item.is_directory()) {
      entries.push_back({name + "/", ""});
    } else {
      std::ifstream in(item.path(), std::ios::binary);
      entries.push_back({name, std::string(std::istreambuf_iterator<char>(in), {})});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const TarEntry& a, const TarEntry& b) { return a.name > b.name; });
  return entries;
}

fs::path imdb_fixture() { return fs::path(WHITTLE_TEST_FIXTURES) / "imdb"; }

void write_text(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

text::Tokenizer small_tokenizer() {
  return text::Tokenizer::from_vocab(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "movie", "was", "great", "bad", "a", "."});
}

}  // namespace whittle::data::testing
