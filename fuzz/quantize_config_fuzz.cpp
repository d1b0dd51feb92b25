// A quantize config (Mase's format, TOML or JSON) as `whittle quantize
// --config` reads it, then applied to the Linears of a two-layer BERT
// classifier (by-name and regex sections are matched against their names).
// The JSON form that whittle.json stores must read back unchanged.
#include "fuzz_support.h"
#include "passes/quantize/quantize_config.h"
#include "util/error.h"

namespace {

using namespace whittle;

const std::vector<std::string>& classifier_linears() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (int layer = 0; layer < 2; ++layer) {
      const std::string prefix = "bert.encoder.layer." + std::to_string(layer) + ".";
      for (const char* part : {"attention.self.query", "attention.self.key", "attention.self.value",
                               "attention.output.dense", "intermediate.dense", "output.dense"}) {
        all.push_back(prefix + part);
      }
    }
    all.push_back("bert.pooler.dense");
    all.push_back("classifier");
    return all;
  }();
  return names;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nlohmann::json document = fuzz::parse_config_document(fuzz::input_string(data, size), "fuzz.toml");
    const passes::QuantizeConfig config = passes::parse_quantize_config(document, "fuzz.toml");
    const nlohmann::json stored = passes::to_json(config);
    if (passes::to_json(passes::parse_quantize_config(stored, "whittle.json")) != stored) {
      fuzz::round_trip_failed("quantize config");
    }
    for (const std::string& name : classifier_linears()) passes::quantization_for_layer(config, name);
  } catch (const Error&) {
  }
  return 0;
}
