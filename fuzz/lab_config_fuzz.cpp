// A lab config (TOML or JSON) as `whittle lab` reads it: without a profile,
// and with the first profile the file defines.
#include "experiments/lab_config.h"
#include "fuzz_support.h"
#include "util/error.h"

namespace {

using namespace whittle;

std::string first_profile(const nlohmann::json& document) {
  auto profiles = document.find("profiles");
  if (profiles == document.end() || !profiles->is_object() || profiles->empty()) return "";
  return profiles->begin().key();
}

void parse_with_profile(const nlohmann::json& document, const std::string& profile) {
  try {
    experiments::parse_lab_config(document, "fuzz.toml", "/fuzz", profile);
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json document;
  try {
    document = fuzz::parse_config_document(fuzz::input_string(data, size), "fuzz.toml");
  } catch (const Error&) {
    return 0;
  }
  parse_with_profile(document, "");
  if (document.is_object()) {
    if (std::string profile = first_profile(document); !profile.empty()) parse_with_profile(document, profile);
  }
  return 0;
}
