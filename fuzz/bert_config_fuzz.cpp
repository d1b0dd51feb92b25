// config.json as `whittle finetune --config`, checkpoints and the lab read
// it, with the config.json whittle writes back (to_json) read again. Sizes
// are whatever the input says: a config that passes validation must not make
// anything allocate for them before a model is built. Small accepted
// configs are built into a classifier, whose construction must agree with
// what validation let through.
#include "fuzz_support.h"
#include "model/bert_config.h"
#include "model/classifier_io.h"
#include "util/error.h"

namespace {

using namespace whittle;

// Beyond this many parameters building the model costs more than the rest of
// the target together; which configs get built is the target's choice, not a
// limit of the product.
constexpr int64_t kLargestModelBuilt = 20'000;

// Whether the classifier has at most kLargestModelBuilt parameters.
bool is_small(const model::BertConfig& config) {
  const int64_t limit = kLargestModelBuilt;
  for (int64_t size : {config.vocab_size, config.hidden_size, config.num_hidden_layers, config.intermediate_size,
                       config.max_position_embeddings, config.type_vocab_size, config.num_labels}) {
    if (size > limit) return false;
  }
  const int64_t hidden = config.hidden_size;
  const int64_t per_layer = 4 * hidden * (hidden + 1) + 2 * hidden * config.intermediate_size + config.intermediate_size +
                            5 * hidden;
  if (config.num_hidden_layers * per_layer > limit) return false;
  const int64_t count = (config.vocab_size + config.max_position_embeddings + config.type_vocab_size + 2) * hidden +
                        config.num_hidden_layers * per_layer + hidden * (hidden + 1) +
                        (hidden + 1) * config.num_labels;
  return count <= limit;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::use_one_thread();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const model::BertConfig config = model::parse_bert_config_text(fuzz::input_string(data, size), "config.json");
    const nlohmann::json written = model::to_json(config);
    if (model::to_json(model::parse_bert_config(written, "written config.json")) != written) {
      fuzz::round_trip_failed("config.json");
    }
    if (is_small(config)) model::new_classifier(config, 0);
  } catch (const Error&) {
  }
  return 0;
}
