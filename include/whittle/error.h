#pragma once
#include <stdexcept>
#include <string>

namespace whittle {

// Every user-facing failure (bad input, bad file, bad config) is thrown as an
// Error whose message is one line that names the problem: the library throws
// the messages the command line prints after "whittle: error:".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace whittle
