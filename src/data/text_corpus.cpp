#include "data/text_corpus.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <system_error>

#include "data/digest.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/path_checks.h"

namespace whittle::data {
namespace fs = std::filesystem;
namespace {

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string_view without_carriage_return(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// The position of a document's id hash in [0, 1).
double id_position(const std::string& id) {
  Digest64 digest;
  digest.add(std::string_view("whittle held-out split v1"));
  digest.add(id);
  return static_cast<double>(digest.value() >> 11) * 0x1.0p-53;
}

}  // namespace

std::vector<Document> split_paragraphs(std::string_view content, const std::string& origin) {
  std::vector<Document> documents;
  std::string paragraph;
  auto finish_paragraph = [&] {
    if (paragraph.empty()) return;
    documents.push_back(Document{origin + "#" + std::to_string(documents.size()), std::move(paragraph), -1});
    paragraph.clear();
  };
  size_t start = 0;
  while (start <= content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = without_carriage_return(content.substr(start, end - start));
    if (is_blank(line)) {
      finish_paragraph();
    } else {
      if (!paragraph.empty()) paragraph += ' ';
      paragraph.append(line);
    }
    start = end + 1;
  }
  finish_paragraph();
  return documents;
}

std::vector<Document> read_text_documents(const fs::path& path) {
  require_regular_file(path, "text file");
  std::vector<Document> documents = split_paragraphs(read_file(path), path.string());
  if (documents.empty()) throw Error("text file " + path.string() + " holds no text");
  return documents;
}

std::vector<Document> read_imdb_pretraining_documents(const fs::path& source) {
  std::vector<Document> documents = read_imdb(source, Split::train);
  std::vector<Document> unlabelled = read_imdb(source, Split::unsup);
  documents.insert(documents.end(), std::make_move_iterator(unlabelled.begin()),
                   std::make_move_iterator(unlabelled.end()));
  for (Document& document : documents) document.label = -1;
  return documents;
}

DocumentSplit split_held_out(std::vector<Document> documents, double held_out_fraction) {
  if (!(held_out_fraction >= 0.0 && held_out_fraction < 1.0)) {
    throw Error("held-out fraction must be in [0, 1), got " + std::to_string(held_out_fraction));
  }
  DocumentSplit split;
  size_t smallest = 0;
  double smallest_position = std::numeric_limits<double>::infinity();
  std::vector<bool> held(documents.size(), false);
  for (size_t i = 0; i < documents.size(); ++i) {
    double position = id_position(documents[i].id);
    held[i] = position < held_out_fraction;
    if (position < smallest_position) {
      smallest_position = position;
      smallest = i;
    }
  }
  bool none_held = std::none_of(held.begin(), held.end(), [](bool b) { return b; });
  if (held_out_fraction > 0.0 && none_held && documents.size() >= 2) held[smallest] = true;
  for (size_t i = 0; i < documents.size(); ++i) {
    (held[i] ? split.held_out : split.training).push_back(std::move(documents[i]));
  }
  return split;
}

std::vector<std::vector<int32_t>> pack_documents(const std::vector<std::vector<int32_t>>& documents,
                                                 int64_t max_length, int32_t cls_id, int32_t sep_id) {
  if (max_length < 3) {
    throw Error("sequence length " + std::to_string(max_length) + " is too short: [CLS], a token and [SEP] need 3");
  }
  // Room for [CLS] and content; the closing [SEP] is added when a sequence is full.
  const size_t capacity = static_cast<size_t>(max_length) - 1;
  std::vector<std::vector<int32_t>> sequences;
  std::vector<int32_t> current = {cls_id};
  auto close_sequence = [&] {
    current.push_back(sep_id);
    sequences.push_back(std::move(current));
    current = {cls_id};
  };
  for (const std::vector<int32_t>& document : documents) {
    if (document.empty()) continue;
    // A document following another in the same sequence is separated by
    // [SEP]; unless a separator and one token fit, it starts a new sequence.
    if (current.size() > 1) {
      if (current.size() + 2 > capacity) {
        close_sequence();
      } else {
        current.push_back(sep_id);
      }
    }
    size_t taken = 0;
    while (taken < document.size()) {
      size_t room = capacity - current.size();
      size_t count = std::min(room, document.size() - taken);
      current.insert(current.end(), document.begin() + static_cast<std::ptrdiff_t>(taken),
                     document.begin() + static_cast<std::ptrdiff_t>(taken + count));
      taken += count;
      if (current.size() == capacity) close_sequence();
    }
  }
  if (current.size() > 1) close_sequence();
  return sequences;
}

}  // namespace whittle::data
