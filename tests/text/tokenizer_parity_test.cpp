// Every case of parity.jsonl (IMDb reviews and edge cases, with the ids that
// Hugging Face's Tokenizers.js gives for bert-base-uncased) must come out of
// our tokenizer unchanged.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace whittle::text {
namespace {

const std::filesystem::path kFixtureDir = std::filesystem::path(WHITTLE_TEST_FIXTURES) / "tokenizer";

struct ParityCase {
  std::string source;
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<ParityCase> read_parity_cases() {
  std::ifstream in(kFixtureDir / "parity.jsonl");
  std::vector<ParityCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    cases.push_back({record.at("source").get<std::string>(), record.at("text").get<std::string>(),
                     record.at("ids").get<std::vector<int32_t>>()});
  }
  return cases;
}

std::string describe(const std::vector<int32_t>& ids, const Tokenizer& tokenizer) {
  std::ostringstream out;
  for (const int32_t id : ids) out << id << "(" << tokenizer.token(id) << ") ";
  return out.str();
}

TEST(TokenizerParity, MatchesTokenizersJsOnEveryCase) {
  const Tokenizer tokenizer = Tokenizer::load(kFixtureDir);
  const std::vector<ParityCase> cases = read_parity_cases();
  ASSERT_GE(cases.size(), 340u) << "parity.jsonl is missing or truncated";

  int mismatches = 0;
  for (const ParityCase& parity_case : cases) {
    const std::vector<int32_t> ids = tokenizer.encode(parity_case.text);
    if (ids == parity_case.ids) continue;
    if (++mismatches == 1) {
      ADD_FAILURE() << "first mismatch: " << parity_case.source << "\n  text:     " << parity_case.text
                    << "\n  expected: " << describe(parity_case.ids, tokenizer)
                    << "\n  actual:   " << describe(ids, tokenizer);
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << cases.size() << " cases";
}

TEST(TokenizerParity, CoversReviewsAndEdgeCases) {
  int reviews = 0;
  int edge_cases = 0;
  for (const ParityCase& parity_case : read_parity_cases()) {
    if (parity_case.source.starts_with("imdb:")) ++reviews;
    if (parity_case.source.starts_with("edge:")) ++edge_cases;
  }
  EXPECT_GE(reviews, 300);
  EXPECT_GE(edge_cases, 40);
}

}  // namespace
}  // namespace whittle::text
