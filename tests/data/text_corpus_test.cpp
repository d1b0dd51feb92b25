#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>

#include "data/pretrain_corpus.h"
#include "data/test_support.h"
#include "data/text_corpus.h"
#include "util/error.h"

namespace whittle::data {
namespace {

using testing::TempDir;

std::vector<std::string> texts(const std::vector<Document>& documents) {
  std::vector<std::string> result;
  for (const Document& document : documents) result.push_back(document.text);
  return result;
}

std::vector<Document> numbered_documents(int count) {
  std::vector<Document> documents;
  for (int i = 0; i < count; ++i) documents.push_back(Document{"doc-" + std::to_string(i), "text", -1});
  return documents;
}

TEST(TextCorpus, ParagraphsAreSeparatedByBlankLines) {
  auto documents = split_paragraphs("first line\nsame paragraph\r\n\r\n  \t \nsecond\n\n\n\nthird", "notes.txt");
  EXPECT_EQ(texts(documents), (std::vector<std::string>{"first line same paragraph", "second", "third"}));
  EXPECT_EQ(documents[0].id, "notes.txt#0");
  EXPECT_EQ(documents[2].id, "notes.txt#2");
  EXPECT_EQ(documents[1].label, -1);
  EXPECT_TRUE(split_paragraphs("\n\n  \n", "x").empty());
}

TEST(TextCorpus, TextFileErrorsNameTheFile) {
  TempDir dir;
  try {
    read_text_documents(dir.path() / "missing.txt");
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("missing.txt does not exist"), std::string::npos) << error.what();
  }
  testing::write_text(dir.path() / "blank.txt", "\n \n");
  try {
    read_text_documents(dir.path() / "blank.txt");
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("blank.txt holds no text"), std::string::npos) << error.what();
  }
}

TEST(TextCorpus, ImdbPretrainingTextIsTrainAndUnsupButNeverTest) {
  auto documents = read_imdb_pretraining_documents(testing::imdb_fixture());
  std::set<std::string> ids;
  for (const Document& document : documents) {
    ids.insert(document.id);
    EXPECT_EQ(document.label, -1) << document.id;
    EXPECT_FALSE(document.id.starts_with("test/")) << document.id;
  }
  // The fixture has 6 labelled train reviews and 2 unsup ones.
  EXPECT_EQ(documents.size(), 8u);
  EXPECT_TRUE(std::any_of(ids.begin(), ids.end(), [](const std::string& id) { return id.find("unsup") != std::string::npos; }));
  EXPECT_TRUE(std::any_of(ids.begin(), ids.end(), [](const std::string& id) { return id.starts_with("train/pos"); }));
}

TEST(TextCorpus, HeldOutSplitHasTheRequestedShareAndIsStable) {
  auto split = split_held_out(numbered_documents(20000), 0.01);
  EXPECT_NEAR(static_cast<double>(split.held_out.size()) / 20000.0, 0.01, 0.002);
  EXPECT_EQ(split.held_out.size() + split.training.size(), 20000u);

  // The same documents among others land on the same side.
  auto larger = split_held_out(numbered_documents(30000), 0.01);
  std::set<std::string> held_before, held_after;
  for (const Document& document : split.held_out) held_before.insert(document.id);
  for (const Document& document : larger.held_out) {
    if (std::stoi(document.id.substr(4)) < 20000) held_after.insert(document.id);
  }
  EXPECT_EQ(held_before, held_after);
}

TEST(TextCorpus, TinyCorporaStillHoldOneDocumentOut) {
  auto split = split_held_out(numbered_documents(3), 0.01);
  EXPECT_EQ(split.held_out.size(), 1u);
  EXPECT_EQ(split.training.size(), 2u);
  EXPECT_TRUE(split_held_out(numbered_documents(3), 0.0).held_out.empty());
  EXPECT_TRUE(split_held_out(numbered_documents(1), 0.01).held_out.empty());
  EXPECT_THROW(split_held_out(numbered_documents(3), 1.0), Error);
}

// Documents of random word pieces (ids >= 10) and random lengths.
std::vector<std::vector<int32_t>> random_documents(int count, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::vector<int32_t>> documents;
  int32_t next_id = 10;
  for (int i = 0; i < count; ++i) {
    std::vector<int32_t> document(random() % 300);  // some empty, some longer than a sequence
    for (int32_t& id : document) id = next_id++;    // unique ids: each must appear exactly once
    documents.push_back(document);
  }
  return documents;
}

TEST(TextCorpus, PackingKeepsEveryTokenOnceAndRespectsTheLength) {
  constexpr int32_t cls = 2, sep = 3;
  for (int64_t max_length : {3, 8, 128}) {
    auto documents = random_documents(60, static_cast<uint64_t>(max_length));
    auto sequences = pack_documents(documents, max_length, cls, sep);
    ASSERT_FALSE(sequences.empty());
    std::vector<int32_t> content;
    for (size_t i = 0; i < sequences.size(); ++i) {
      const auto& sequence = sequences[i];
      ASSERT_LE(static_cast<int64_t>(sequence.size()), max_length);
      ASSERT_GE(sequence.size(), 3u);
      EXPECT_EQ(sequence.front(), cls);
      EXPECT_EQ(sequence.back(), sep);
      // Full sequences but for the last and for those where a separator and
      // a token did not fit.
      if (i + 1 < sequences.size()) EXPECT_GE(static_cast<int64_t>(sequence.size()), max_length - 1);
      content.insert(content.end(), sequence.begin() + 1, sequence.end() - 1);
    }
    // Reading the content back, separators between documents, gives the
    // documents in order: every token exactly once.
    std::vector<int32_t> expected;
    for (const auto& document : documents) {
      if (document.empty()) continue;
      expected.insert(expected.end(), document.begin(), document.end());
    }
    std::vector<int32_t> without_separators;
    std::copy_if(content.begin(), content.end(), std::back_inserter(without_separators),
                 [&](int32_t id) { return id != sep; });
    EXPECT_EQ(without_separators, expected) << "max_length " << max_length;
    // Separators sit only between documents, never at a sequence edge twice.
    EXPECT_LT(content.size() - without_separators.size(), documents.size());
  }
}

TEST(TextCorpus, PackingPutsSeparatorsBetweenDocuments) {
  auto sequences = pack_documents({{10, 11}, {12}, {13, 14, 15}}, 8, 2, 3);
  ASSERT_EQ(sequences.size(), 2u);
  EXPECT_EQ(sequences[0], (std::vector<int32_t>{2, 10, 11, 3, 12, 3, 13, 3}));
  EXPECT_EQ(sequences[1], (std::vector<int32_t>{2, 14, 15, 3}));
  EXPECT_THROW(pack_documents({{10}}, 2, 2, 3), Error);
}

TEST(TextCorpus, PretrainCorpusTokenizesAndPacksBothParts) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the movie was great . a bad movie .\n\n";
  testing::write_text(dir.path() / "reviews.txt", text);
  CorpusSources sources;
  sources.text_files = {dir.path() / "reviews.txt"};
  std::ostringstream log;
  auto corpus = load_pretrain_corpus(sources, testing::small_tokenizer(), 16, 0.1, dir.path() / "cache", false, log);
  EXPECT_EQ(corpus.training.documents + corpus.held_out.documents, 40);
  EXPECT_GT(corpus.held_out.documents, 0);
  // 9 word pieces per document; [CLS] is 2 and [SEP] 3 in the small vocabulary.
  int64_t word_pieces = 0;
  for (const auto& sequence : corpus.training.sequences) {
    EXPECT_LE(sequence.size(), 16u);
    word_pieces += std::count_if(sequence.begin(), sequence.end(), [](int32_t id) { return id > 3; });
  }
  EXPECT_EQ(word_pieces, corpus.training.documents * 9);
  EXPECT_NE(log.str().find("held out"), std::string::npos);

  auto held_only = load_pretrain_corpus(sources, testing::small_tokenizer(), 16, 0.1, dir.path() / "cache", true, log);
  EXPECT_EQ(held_only.training.size(), 0);
  EXPECT_EQ(held_only.held_out.sequences, corpus.held_out.sequences);
  EXPECT_THROW(read_corpus_documents(CorpusSources{}), Error);
}

TEST(TextCorpus, CorpusSpecRoundTripsThroughJson) {
  CorpusSpec spec;
  spec.sources.imdb = "/data/aclImdb";
  spec.sources.text_files = {"/data/a.txt", "/data/b.txt"};
  spec.max_length = 256;
  spec.held_out_fraction = 0.02;
  CorpusSpec back = corpus_spec_from_json(to_json(spec), "test");
  EXPECT_EQ(back.sources.imdb, spec.sources.imdb);
  EXPECT_EQ(back.sources.text_files, spec.sources.text_files);
  EXPECT_EQ(back.max_length, 256);
  EXPECT_EQ(back.held_out_fraction, 0.02);
  EXPECT_THROW(corpus_spec_from_json(nlohmann::json::object(), "test"), Error);
}

}  // namespace
}  // namespace whittle::data
