#pragma once
// What the fuzz targets share. Each target feeds its input to one reader
// exactly as whittle reads that kind of file; a whittle::Error is the
// reader's way of refusing bad input. Anything else escaping (another
// exception type, a crash, a sanitizer report, a leak) is a finding.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "passes/config_file.h"

namespace whittle::fuzz {

inline std::string input_string(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Inputs are tiny: a thread pool only adds start-up and scheduling noise.
inline void use_one_thread() { at::set_num_threads(1); }

// A config document as `read_config_file` reads one, the format chosen as
// its extension would: JSON when the text starts with '{', TOML otherwise.
inline nlohmann::json parse_config_document(const std::string& text, const std::string& origin) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') return passes::parse_json_text(text, origin);
  return passes::parse_toml(text, origin);
}

// A failed round trip: a file whittle wrote would not read back as written.
[[noreturn]] inline void round_trip_failed(const char* what) {
  std::fprintf(stderr, "round trip failed: %s\n", what);
  std::abort();
}

}  // namespace whittle::fuzz
