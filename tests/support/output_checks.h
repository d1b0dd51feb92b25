#pragma once
// Checks on what the code under test wrote: text that must (or must not)
// hold given parts, and figure files that must exist.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace whittle::test_support {

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One expectation per part, each failure naming its part, so that a report
// missing several rows shows them all at once.
inline void expect_contains_all(const std::string& text, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) EXPECT_TRUE(contains(text, part)) << "missing: " << part;
}

inline void expect_contains_none(const std::string& text, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) EXPECT_FALSE(contains(text, part)) << "present: " << part;
}

// A figure drawn to `base`: `<base>.png` and `<base>.svg` exist and are not
// empty. Call it inside ASSERT_NO_FATAL_FAILURE: a missing file ends the test.
inline void expect_figure_files(const std::filesystem::path& base) {
  for (const char* extension : {".png", ".svg"}) {
    std::filesystem::path file = base;
    file += extension;
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_GT(std::filesystem::file_size(file), 0u) << file;
  }
}

}  // namespace whittle::test_support
