#include "text/vocabulary.h"

namespace whittle::text {

Vocabulary::Vocabulary(std::vector<std::string> tokens)
    : tokens_(std::move(tokens)),
      word_starts_(tokens_, 0, [](const std::string&) { return true; }),
      continuations_(tokens_, kContinuationPrefix.size(), [](const std::string& token) {
        return token.size() > kContinuationPrefix.size() && token.starts_with(kContinuationPrefix);
      }) {}

}  // namespace whittle::text
