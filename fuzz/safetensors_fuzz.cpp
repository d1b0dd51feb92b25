// model.safetensors as `load_classifier` reads it: the header (JSON, dtypes,
// offsets, shapes), then the tensors under Hugging Face names assigned to a
// classifier of the tiny config of the seed checkpoint
// (scripts/fixtures/make_fuzz_seeds.py), which checks their shapes.
// Tensors that parse must also survive whittle's own writer and reader.
#include <cstring>

#include "fuzz_support.h"
#include "model/checkpoint.h"
#include "model/classifier_io.h"
#include "util/error.h"

namespace {

using namespace whittle;

// A few hundred parameters: assigning them costs little next to parsing.
constexpr const char* kTinyConfig = R"({"vocab_size": 8, "hidden_size": 4, "num_hidden_layers": 1,
  "num_attention_heads": 2, "intermediate_size": 8, "max_position_embeddings": 8, "type_vocab_size": 2})";

model::BertForSequenceClassification& tiny_classifier() {
  static model::BertForSequenceClassification classifier =
      model::new_classifier(model::parse_bert_config_text(kTinyConfig, "tiny config"), 0);
  return classifier;
}

bool same_bytes(const torch::Tensor& a, const torch::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         (a.nbytes() == 0 || std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) == 0);
}

void check_written_form_reads_back(const model::TensorMap& tensors) {
  const model::TensorMap again =
      model::parse_safetensors(model::serialize_safetensors(tensors, {}), "rewritten", /*keep_dtype=*/true);
  if (again.size() != tensors.size()) fuzz::round_trip_failed("tensor count");
  for (const auto& [name, tensor] : tensors) {
    auto found = again.find(name);
    if (found == again.end() || !same_bytes(tensor.contiguous(), found->second)) fuzz::round_trip_failed(name.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::use_one_thread();
  tiny_classifier();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = fuzz::input_string(data, size);
  try {
    check_written_form_reads_back(model::parse_safetensors(bytes, "fuzz.safetensors", /*keep_dtype=*/true));
    model::TensorMap tensors = model::normalize_names(model::parse_safetensors(bytes, "fuzz.safetensors"));
    model::assign_tensors(*tiny_classifier(), tensors, {"bert.pooler.", "classifier."});
  } catch (const Error&) {
  }
  return 0;
}
