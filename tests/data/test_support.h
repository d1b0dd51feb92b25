#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "text/tokenizer.h"
#include "support/temp_dir.h"

namespace whittle::data::testing {

using test_support::TempDir;

struct TarEntry {
  std::string name;  // a trailing '/' makes a directory entry
  std::string content;
};

// Writes a gzip-compressed tar with libarchive's writer, entries in the given order.
void write_tar_gz(const std::filesystem::path& path, const std::vector<TarEntry>& entries);

// The files and folders below `dir`, named `prefix` + relative path, in reverse
// path order (so that readers cannot rely on the archive being sorted).
std::vector<TarEntry> entries_of_directory(const std::filesystem::path& dir, const std::string& prefix);

std::filesystem::path imdb_fixture();  // tests/fixtures/imdb, which holds aclImdb/

void write_text(const std::filesystem::path& path, const std::string& content);

// [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 the=5 movie=6 was=7 great=8 bad=9 a=10 .=11
text::Tokenizer small_tokenizer();

}  // namespace whittle::data::testing
