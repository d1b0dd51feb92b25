// A LoRA config (Mase's pass arguments, TOML or JSON) as `whittle lora
// --config` reads it. The JSON form that whittle.json stores must read back
// unchanged.
#include "fuzz_support.h"
#include "passes/lora/lora_config.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace whittle;
  try {
    const nlohmann::json document = fuzz::parse_config_document(fuzz::input_string(data, size), "fuzz.toml");
    const nlohmann::json stored = passes::to_json(passes::parse_lora_config(document, "fuzz.toml"));
    if (passes::to_json(passes::parse_lora_config(stored, "whittle.json")) != stored) {
      fuzz::round_trip_failed("lora config");
    }
  } catch (const Error&) {
  }
  return 0;
}
