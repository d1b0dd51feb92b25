#pragma once
#include <string>

#include "util/error.h"

namespace whittle {

// Work stopped at its time limit (--time-limit), with what it finished
// saved: running the same command again resumes it. The CLI exits with 75
// (EX_TEMPFAIL, "try again later") rather than 1.
class TimeLimitReached : public Error {
 public:
  explicit TimeLimitReached(const std::string& message) : Error(message) {}
};

}  // namespace whittle
