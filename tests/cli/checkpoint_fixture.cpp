#include "cli/checkpoint_fixture.h"

#include "cli/cli_runner.h"
#include "model/classifier_io.h"

namespace whittle::cli_testing {

void write_tiny_checkpoint(const std::filesystem::path& dir, uint64_t seed) {
  auto model = model::new_classifier(model::load_bert_config(tiny_config_fixture()), seed);
  model::save_checkpoint(dir, model::classifier_checkpoint(model, nlohmann::json::object()), tokenizer_fixture());
}

std::string safetensors_bytes_with_length(uint64_t header_length, const std::string& rest) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((header_length >> (8 * i)) & 0xff));
  return bytes + rest;
}

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return safetensors_bytes_with_length(header.size(), header + data);
}

}  // namespace whittle::cli_testing
