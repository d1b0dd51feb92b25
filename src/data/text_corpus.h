#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/imdb.h"

namespace whittle::data {

// Unlabelled text for masked-language-model pretraining, as Reviews with
// label -1 so that the tokenizer cache serves them too. The id names the
// origin ("train/pos/10_8", "notes.txt#3") and decides the held-out split.
using Document = Review;

// One document per paragraph: paragraphs are separated by blank lines
// (lines holding only whitespace); the lines of a paragraph are joined with a
// space. Paragraph numbers in the ids count from 0 over non-empty paragraphs.
// A file of one review per line therefore needs blank lines between them.
std::vector<Document> split_paragraphs(std::string_view content, const std::string& origin);
// Throws whittle::Error when the file cannot be read or holds no text.
std::vector<Document> read_text_documents(const std::filesystem::path& path);

// The IMDb reviews pretraining may see: the train split (labels dropped)
// and the unlabelled unsup split, never the test split.
std::vector<Document> read_imdb_pretraining_documents(const std::filesystem::path& source);

// A fixed, seed-independent fraction of the documents chosen by a hash of
// their id, so that the held-out set of a corpus never changes (eval-mlm
// finds the same one) and a document stays on its side when others are
// added. When the hash picks none but there are at least two documents,
// the one with the smallest hash is held out, so that tiny corpora still
// have something to evaluate on.
struct DocumentSplit {
  std::vector<Document> training;
  std::vector<Document> held_out;
};
DocumentSplit split_held_out(std::vector<Document> documents, double held_out_fraction);

// Documents (word pieces, no specials) packed into sequences of at most
// max_length ids: [CLS] a1 a2 ... [SEP] b1 b2 ... [SEP], a document running on
// into the next sequence when it does not fit. Every word piece appears in
// exactly one sequence; only the last sequence (and one whose remaining room
// could not hold a separator and a token) is shorter than max_length.
std::vector<std::vector<int32_t>> pack_documents(const std::vector<std::vector<int32_t>>& documents,
                                                 int64_t max_length, int32_t cls_id, int32_t sep_id);

}  // namespace whittle::data
