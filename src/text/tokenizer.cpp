#include "text/tokenizer.h"

#include <cstdio>
#include <limits>

#include "text/pre_tokenizer.h"
#include "text/tokenizer_files.h"
#include "text/vocabulary.h"
#include "text/word_piece.h"
#include "util/error.h"
#include "util/hash.h"

namespace whittle::text {
namespace {

struct SpecialIds {
  int32_t cls = 0;
  int32_t sep = 0;
  int32_t pad = 0;
  int32_t mask = 0;
  int32_t unk = 0;
};

SpecialIds find_special_ids(const Vocabulary& vocabulary) {
  std::string missing;
  auto require = [&](std::string_view token) {
    const auto id = vocabulary.find(token);
    if (!id) missing += (missing.empty() ? "" : ", ") + std::string(token);
    return id.value_or(0);
  };
  SpecialIds ids{require("[CLS]"), require("[SEP]"), require("[PAD]"), require("[MASK]"), require("[UNK]")};
  if (!missing.empty()) throw Error("tokenizer vocabulary lacks the special tokens " + missing);
  return ids;
}

std::vector<SpecialToken> special_tokens_of(const SpecialIds& ids) {
  return {{"[CLS]", ids.cls}, {"[SEP]", ids.sep}, {"[PAD]", ids.pad}, {"[MASK]", ids.mask}, {"[UNK]", ids.unk}};
}

// Collects word-piece ids and asks the splitter to stop once `limit` ids are
// there, so truncated encodings skip the rest of the text.
class IdCollector final : public WordSink {
 public:
  IdCollector(const WordPiece& word_piece, std::vector<int32_t>& ids, std::size_t limit)
      : word_piece_(word_piece), ids_(ids), limit_(limit) {}

  bool word(std::string_view normalized_word) override {
    word_piece_.append_ids(normalized_word, ids_);
    return ids_.size() < limit_;
  }
  bool special_token(int32_t id) override {
    ids_.push_back(id);
    return ids_.size() < limit_;
  }

 private:
  const WordPiece& word_piece_;
  std::vector<int32_t>& ids_;
  std::size_t limit_;
};

}  // namespace

struct Tokenizer::State {
  State(std::vector<std::string> tokens, const TokenizerOptions& tokenizer_options)
      : vocabulary(std::move(tokens)),
        options(tokenizer_options),
        special_ids(find_special_ids(vocabulary)),
        pre_tokenizer({options.lower_case, options.strips_accents()}, special_tokens_of(special_ids)),
        word_piece(vocabulary, special_ids.unk, options.max_chars_per_word) {}

  void append_word_pieces(std::string_view text, std::vector<int32_t>& ids, std::size_t limit) const {
    if (ids.size() >= limit) return;
    IdCollector collector(word_piece, ids, limit);
    pre_tokenizer.split(text, collector);
    if (ids.size() > limit) ids.resize(limit);
  }

  Vocabulary vocabulary;
  TokenizerOptions options;
  SpecialIds special_ids;
  PreTokenizer pre_tokenizer;
  WordPiece word_piece;
};

Tokenizer::Tokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::filesystem::path& dir) {
  TokenizerFiles files = read_tokenizer_files(dir);
  try {
    return Tokenizer(std::make_unique<State>(std::move(files.tokens), files.options));
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (in " + dir.string() + ")");
  }
}

Tokenizer Tokenizer::from_vocab(std::vector<std::string> tokens, bool lower_case) {
  TokenizerOptions options;
  options.lower_case = lower_case;
  return Tokenizer(std::make_unique<State>(std::move(tokens), options));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, int64_t max_length) const {
  if (max_length < 0 || max_length == 1) {
    throw Error("max_length must be 0 (no limit) or at least 2 to hold [CLS] and [SEP], got " +
                std::to_string(max_length));
  }
  const std::size_t limit_before_sep =
      max_length > 0 ? static_cast<std::size_t>(max_length) - 1 : std::numeric_limits<std::size_t>::max();
  std::vector<int32_t> ids;
  ids.reserve(max_length > 0 ? static_cast<std::size_t>(max_length) : text.size() / 4 + 2);
  ids.push_back(state_->special_ids.cls);
  state_->append_word_pieces(text, ids, limit_before_sep);
  ids.push_back(state_->special_ids.sep);
  return ids;
}

std::vector<int32_t> Tokenizer::tokenize_to_ids(std::string_view text) const {
  std::vector<int32_t> ids;
  state_->append_word_pieces(text, ids, std::numeric_limits<std::size_t>::max());
  return ids;
}

int32_t Tokenizer::cls_id() const { return state_->special_ids.cls; }
int32_t Tokenizer::sep_id() const { return state_->special_ids.sep; }
int32_t Tokenizer::pad_id() const { return state_->special_ids.pad; }
int32_t Tokenizer::mask_id() const { return state_->special_ids.mask; }
int32_t Tokenizer::unk_id() const { return state_->special_ids.unk; }
int64_t Tokenizer::vocab_size() const { return state_->vocabulary.size(); }

const std::string& Tokenizer::token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(vocab_size()));
  }
  return state_->vocabulary.tokens()[static_cast<std::size_t>(id)];
}

std::string Tokenizer::fingerprint() const {
  Fnv1a64 hash;
  hash.add("whittle-wordpiece-v1\n");
  for (const std::string& token : state_->vocabulary.tokens()) {
    hash.add(token);
    hash.add("\n");
  }
  const TokenizerOptions& options = state_->options;
  hash.add("lower_case=" + std::to_string(options.lower_case) + ";strip_accents=" +
           std::to_string(options.strips_accents()) + ";max_chars_per_word=" + std::to_string(options.max_chars_per_word));
  return hash.hex();
}

}  // namespace whittle::text
