#include "text/tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include "util/error.h"
#include "support/temp_dir.h"
#include "support/error_message.h"

namespace whittle::text {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtureDir = fs::path(WHITTLE_TEST_FIXTURES) / "tokenizer";

std::vector<std::string> with_specials(std::vector<std::string> tokens) {
  tokens.insert(tokens.begin(), {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"});
  return tokens;
}

std::vector<std::string> tokens_of(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  std::vector<std::string> tokens;
  for (const int32_t id : ids) tokens.push_back(tokenizer.token(id));
  return tokens;
}

std::vector<std::string> pieces(const Tokenizer& tokenizer, std::string_view text) {
  return tokens_of(tokenizer, tokenizer.tokenize_to_ids(text));
}

std::string repeated(std::string_view unit, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += unit;
  return out;
}

using test_support::TempDir;

void write_into(const TempDir& dir, const std::string& name, const std::string& content) {
  std::ofstream(dir / name, std::ios::binary) << content;
}

std::string vocab_file(const std::vector<std::string>& tokens) {
  std::string content;
  for (const auto& token : tokens) content += token + "\n";
  return content;
}

using test_support::error_message;

// --- WordPiece and normalisation on a small vocabulary ---

TEST(Tokenizer, GreedyLongestMatchUsesContinuationPrefix) {
  const auto tokenizer = Tokenizer::from_vocab(with_specials({"un", "##aff", "##able", "unaff", "aff", "##a"}));
  EXPECT_EQ(pieces(tokenizer, "unaffable"), (std::vector<std::string>{"unaff", "##able"}));
  EXPECT_EQ(pieces(tokenizer, "affable"), (std::vector<std::string>{"aff", "##able"}));
  EXPECT_EQ(pieces(tokenizer, "una"), (std::vector<std::string>{"un", "##a"}));
}

TEST(Tokenizer, WordWithUnmatchedRestBecomesOneUnknown) {
  const auto tokenizer = Tokenizer::from_vocab(with_specials({"un", "##aff", "##able", "able"}));
  EXPECT_EQ(pieces(tokenizer, "unaffablez able"), (std::vector<std::string>{"[UNK]", "able"}));
}

TEST(Tokenizer, LowerCasesStripsAccentsAndSplitsPunctuation) {
  const auto tokenizer = Tokenizer::from_vocab(with_specials({"hello", "world", ",", "!", "cafe", "'", "s"}));
  EXPECT_EQ(pieces(tokenizer, "HÉLLO,World!  Café's"),
            (std::vector<std::string>{"hello", ",", "world", "!", "cafe", "'", "s"}));
}

TEST(Tokenizer, WithoutLowerCasingKeepsCaseAndAccents) {
  const auto tokenizer = Tokenizer::from_vocab(with_specials({"Hello", "hello", "Café", "cafe"}), false);
  EXPECT_EQ(pieces(tokenizer, "Hello Café"), (std::vector<std::string>{"Hello", "Café"}));
}

TEST(Tokenizer, CjkIdeographsAreSeparateWords) {
  const auto tokenizer = Tokenizer::from_vocab(with_specials({"中", "文", "ab", "##c"}));
  EXPECT_EQ(pieces(tokenizer, "ab中文abc"), (std::vector<std::string>{"ab", "中", "文", "ab", "##c"}));
}

TEST(Tokenizer, CleaningDropsControlsAndInvalidBytesAndTreatsUnicodeSpacesAsSeparators) {
  const auto tokenizer = Tokenizer::from_vocab(with_specials({"ab", "cd", "abcd"}));
  EXPECT_EQ(pieces(tokenizer, "a\x01" "b\xff\xfe" "cd\u200b"), (std::vector<std::string>{"abcd"}));
  EXPECT_EQ(pieces(tokenizer, "ab\u00a0cd\u3000ab\u2028cd"), (std::vector<std::string>{"ab", "cd", "ab", "cd"}));
  EXPECT_EQ(pieces(tokenizer, std::string("ab\0cd", 5)), (std::vector<std::string>{"abcd"}));
}

TEST(Tokenizer, WordOfMoreThan100CodePointsIsUnknown) {
  const auto tokenizer = Tokenizer::from_vocab(with_specials({"a", "##a", "ñ", "##ñ"}), false);
  EXPECT_EQ(pieces(tokenizer, repeated("a", 100)).size(), 100u);
  EXPECT_EQ(pieces(tokenizer, repeated("a", 101)), (std::vector<std::string>{"[UNK]"}));
  // The limit counts code points, not bytes: 100 two-byte letters still fit.
  EXPECT_EQ(pieces(tokenizer, repeated("ñ", 100)).size(), 100u);
  EXPECT_EQ(pieces(tokenizer, repeated("ñ", 101)), (std::vector<std::string>{"[UNK]"}));
}

TEST(Tokenizer, SpecialTokensWrittenInTextKeepTheirIds) {
  const auto tokenizer = Tokenizer::from_vocab(with_specials({"a", "b", "[", "]", "sep"}));
  EXPECT_EQ(pieces(tokenizer, "a[SEP]b [MASK]"), (std::vector<std::string>{"a", "[SEP]", "b", "[MASK]"}));
  EXPECT_EQ(pieces(tokenizer, "[sep]"), (std::vector<std::string>{"[", "sep", "]"}));
}

// --- encode() and truncation, on the real bert-base-uncased vocabulary ---

class BertBaseUncased : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tokenizer_ = new Tokenizer(Tokenizer::load(kFixtureDir)); }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  static Tokenizer* tokenizer_;
};
Tokenizer* BertBaseUncased::tokenizer_ = nullptr;

TEST_F(BertBaseUncased, KnowsItsSpecialIds) {
  EXPECT_EQ(tokenizer_->vocab_size(), 30522);
  EXPECT_EQ(tokenizer_->pad_id(), 0);
  EXPECT_EQ(tokenizer_->unk_id(), 100);
  EXPECT_EQ(tokenizer_->cls_id(), 101);
  EXPECT_EQ(tokenizer_->sep_id(), 102);
  EXPECT_EQ(tokenizer_->mask_id(), 103);
  EXPECT_EQ(tokenizer_->token(7592), "hello");
  EXPECT_THROW(tokenizer_->token(30522), Error);
  EXPECT_THROW(tokenizer_->token(-1), Error);
}

TEST_F(BertBaseUncased, EncodeAddsClsAndSep) {
  EXPECT_EQ(tokenizer_->encode("Hello, world!"), (std::vector<int32_t>{101, 7592, 1010, 2088, 999, 102}));
  EXPECT_EQ(tokenizer_->encode(""), (std::vector<int32_t>{101, 102}));
}

TEST_F(BertBaseUncased, TruncatesToMaxLengthEndingInSep) {
  const std::string text = "This movie was one of the best films I have ever seen in my whole life.";
  const std::vector<int32_t> full = tokenizer_->encode(text);
  ASSERT_GT(full.size(), 8u);

  const std::vector<int32_t> truncated = tokenizer_->encode(text, 8);
  ASSERT_EQ(truncated.size(), 8u);
  EXPECT_EQ(truncated.front(), 101);
  EXPECT_EQ(truncated.back(), 102);
  EXPECT_EQ(std::vector<int32_t>(truncated.begin(), truncated.end() - 1),
            std::vector<int32_t>(full.begin(), full.begin() + 7));

  EXPECT_EQ(tokenizer_->encode(text, 0), full);
  EXPECT_EQ(tokenizer_->encode(text, 512), full);
  EXPECT_EQ(tokenizer_->encode(text, 2), (std::vector<int32_t>{101, 102}));
}

TEST_F(BertBaseUncased, TruncationCanCutInsideAWord) {
  // "unbelievably" is several pieces; a limit inside it keeps the first ones.
  const std::vector<int32_t> full = tokenizer_->encode("xylophonist");
  ASSERT_GE(full.size(), 5u);
  const std::vector<int32_t> truncated = tokenizer_->encode("xylophonist", 4);
  EXPECT_EQ(truncated, (std::vector<int32_t>{101, full[1], full[2], 102}));
}

TEST_F(BertBaseUncased, RejectsMaxLengthThatCannotHoldSpecials) {
  EXPECT_THROW(tokenizer_->encode("text", 1), Error);
  EXPECT_THROW(tokenizer_->encode("text", -5), Error);
}

TEST_F(BertBaseUncased, LongWordIsUnknown) {
  EXPECT_EQ(tokenizer_->encode("ok " + repeated("x", 101) + " ok"), (std::vector<int32_t>{101, 7929, 100, 7929, 102}));
}

TEST_F(BertBaseUncased, FinalSigmaFollowsPythonLower) {
  // str.lower() turns a capital sigma that ends a word (after a cased
  // letter) into U+03C2 "ς", any other into U+03C3 "σ".
  EXPECT_EQ(tokens_of(*tokenizer_, tokenizer_->tokenize_to_ids("Σ ΣΑ")), (std::vector<std::string>{"σ", "σ", "##α"}));
  EXPECT_EQ(tokens_of(*tokenizer_, tokenizer_->tokenize_to_ids("ΑΣ ΑΣΑ")), (std::vector<std::string>{"α", "##ς", "α", "##σ", "##α"}));
}

// Where Tokenizers.js departs from Hugging Face's Python BertTokenizer, the
// expected tokens follow the Python reference (and so are not in parity.jsonl).
TEST_F(BertBaseUncased, SupplementaryCjkIdeographsAreSeparateWords) {
  // U+20000 and U+20001 (CJK Extension B) are in BERT's CJK ranges but not
  // in the vocabulary; Tokenizers.js checks UTF-16 units and so misses them.
  EXPECT_EQ(tokens_of(*tokenizer_, tokenizer_->tokenize_to_ids("\U00020000\U00020001x")),
            (std::vector<std::string>{"[UNK]", "[UNK]", "x"}));
}

TEST_F(BertBaseUncased, UnassignedCodePointsAreCleanedAway) {
  // U+0378 is unassigned (category Cn), which Python's cleaning drops as a
  // "C*" category; Tokenizers.js only drops Cc, Cf, Co and Cs.
  EXPECT_EQ(tokens_of(*tokenizer_, tokenizer_->tokenize_to_ids("a\u0378b")), (std::vector<std::string>{"ab"}));
}

// --- loading ---

TEST(TokenizerLoad, MissingDirectoryIsAnError) {
  const std::string message = error_message([] { Tokenizer::load("/nonexistent/whittle/tokenizer"); });
  EXPECT_NE(message.find("tokenizer directory not found"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/whittle/tokenizer"), std::string::npos) << message;
}

TEST(TokenizerLoad, DirectoryWithoutVocabIsAnError) {
  TempDir dir;
  const std::string message = error_message([&] { Tokenizer::load(dir.path()); });
  EXPECT_NE(message.find("no vocab.txt"), std::string::npos) << message;
}

TEST(TokenizerLoad, VocabWithoutSpecialTokensIsAnError) {
  TempDir dir;
  write_into(dir, "vocab.txt", vocab_file({"[PAD]", "[UNK]", "hello", "world"}));
  const std::string message = error_message([&] { Tokenizer::load(dir.path()); });
  EXPECT_NE(message.find("[CLS], [SEP], [MASK]"), std::string::npos) << message;
  EXPECT_THROW(Tokenizer::from_vocab({"a", "b"}), Error);
}

TEST(TokenizerLoad, MalformedConfigIsAnError) {
  TempDir dir;
  write_into(dir, "vocab.txt", vocab_file(with_specials({"hello"})));
  write_into(dir, "tokenizer_config.json", "{\"do_lower_case\": ");
  const std::string message = error_message([&] { Tokenizer::load(dir.path()); });
  EXPECT_NE(message.find("tokenizer_config.json"), std::string::npos) << message;

  write_into(dir, "tokenizer_config.json", "{\"do_lower_case\": \"yes\"}");
  EXPECT_NE(error_message([&] { Tokenizer::load(dir.path()); }).find("do_lower_case"), std::string::npos);
}

TEST(TokenizerLoad, HonoursDoLowerCase) {
  TempDir dir;
  write_into(dir, "vocab.txt", vocab_file(with_specials({"Hello", "hello"})));
  EXPECT_EQ(pieces(Tokenizer::load(dir.path()), "Hello"), (std::vector<std::string>{"hello"}));
  write_into(dir, "tokenizer_config.json", R"({"do_lower_case": false})");
  EXPECT_EQ(pieces(Tokenizer::load(dir.path()), "Hello"), (std::vector<std::string>{"Hello"}));
}

TEST(TokenizerLoad, TokenizerJsonNormalizerWinsOverConfig) {
  TempDir dir;
  write_into(dir, "vocab.txt", vocab_file(with_specials({"Hello", "hello", "Ünd", "und", "ünd"})));
  write_into(dir, "tokenizer_config.json", R"({"do_lower_case": false})");
  write_into(dir, "tokenizer.json",
            R"({"model": {"type": "WordPiece", "vocab": {}},
                "normalizer": {"type": "BertNormalizer", "lowercase": true, "strip_accents": false}})");
  const Tokenizer tokenizer = Tokenizer::load(dir.path());
  EXPECT_EQ(pieces(tokenizer, "Hello Ünd"), (std::vector<std::string>{"hello", "ünd"}));
}

TEST(TokenizerLoad, ReadsVocabFromTokenizerJsonWhenVocabTxtIsAbsent) {
  TempDir dir;
  write_into(dir, "tokenizer.json",
            R"({"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3,
                "[MASK]": 4, "hi": 5}}})");
  const Tokenizer tokenizer = Tokenizer::load(dir.path());
  EXPECT_EQ(tokenizer.encode("Hi"), (std::vector<int32_t>{2, 5, 3}));
}

TEST(TokenizerLoad, VocabToleratesCrLfAndMissingFinalNewline) {
  TempDir dir;
  write_into(dir, "vocab.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhello");
  const Tokenizer tokenizer = Tokenizer::load(dir.path());
  EXPECT_EQ(tokenizer.vocab_size(), 6);
  EXPECT_EQ(tokenizer.encode("hello"), (std::vector<int32_t>{2, 5, 3}));
}

TEST(TokenizerFingerprint, IsStableAndTracksVocabAndOptions) {
  const std::string fingerprint = Tokenizer::load(kFixtureDir).fingerprint();
  EXPECT_EQ(fingerprint.size(), 16u);
  EXPECT_EQ(fingerprint.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(fingerprint, Tokenizer::load(kFixtureDir).fingerprint());

  const auto vocab = with_specials({"a", "b"});
  EXPECT_EQ(Tokenizer::from_vocab(vocab).fingerprint(), Tokenizer::from_vocab(vocab).fingerprint());
  EXPECT_NE(Tokenizer::from_vocab(vocab).fingerprint(), Tokenizer::from_vocab(vocab, false).fingerprint());
  EXPECT_NE(Tokenizer::from_vocab(vocab).fingerprint(), Tokenizer::from_vocab(with_specials({"a", "c"})).fingerprint());
  EXPECT_NE(Tokenizer::from_vocab(vocab).fingerprint(), fingerprint);
}

}  // namespace
}  // namespace whittle::text
