#pragma once
#include <gtest/gtest.h>

#include <string>

#include "util/error.h"

namespace whittle::test_support {

// The message of the whittle::Error that `action` throws; a test failure
// (and "") when it throws none.
template <typename Action>
std::string error_message(Action&& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a whittle::Error";
  return "";
}

}  // namespace whittle::test_support
