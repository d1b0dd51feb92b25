// The compiled model file as `whittle run` reads it: the file checks, the
// JSON header, the packed tensors and the vocabulary, then the deployed
// classifier built from them running one short batch.
//
// An input starting with the file's signature is a whole file; the target
// sets its payload length and checksum (which no mutation would keep right)
// so that mutations reach the header and tensors. Any other input is a
// header, a NUL byte and a payload, from which the target builds the file,
// so that mutations that change the header's length still give readable
// files.
#include <cstring>

#include "data/digest.h"
#include "deploy/deployed_classifier.h"
#include "deploy/model_file.h"
#include "fuzz_support.h"
#include "util/error.h"

namespace {

using namespace whittle;

constexpr char kMagic[] = "WHTLDPLY";
constexpr size_t kMagicBytes = 8;
constexpr size_t kPreambleBytes = 32;
constexpr size_t kAlignment = 64;

size_t aligned(size_t offset) { return (offset + kAlignment - 1) / kAlignment * kAlignment; }

uint64_t checksum(std::string_view header, std::string_view payload) {
  data::Digest64 digest;
  digest.add(header);
  digest.add(payload);
  return digest.value();
}

template <typename T>
void put(std::string& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

void seal_file(std::string& bytes) {
  if (bytes.size() < kPreambleBytes) return;
  uint32_t header_size;
  std::memcpy(&header_size, bytes.data() + 12, sizeof header_size);
  const size_t payload_start = aligned(kPreambleBytes + header_size);
  if (payload_start > bytes.size()) return;
  const std::string_view payload = std::string_view(bytes).substr(payload_start);
  put<uint64_t>(bytes, 16, payload.size());
  put<uint64_t>(bytes, 24, checksum(std::string_view(bytes).substr(kPreambleBytes, header_size), payload));
}

std::string file_around(const std::string& input) {
  const size_t split = std::min(input.find('\0'), input.size());
  const std::string_view header = std::string_view(input).substr(0, split);
  const std::string_view payload = split < input.size() ? std::string_view(input).substr(split + 1) : std::string_view();
  std::string file(aligned(kPreambleBytes + header.size()), '\0');
  std::memcpy(file.data(), kMagic, kMagicBytes);
  put<uint32_t>(file, 8, deploy::kModelFileVersion);
  put<uint32_t>(file, 12, static_cast<uint32_t>(header.size()));
  put<uint64_t>(file, 16, payload.size());
  put<uint64_t>(file, 24, checksum(header, payload));
  std::memcpy(file.data() + kPreambleBytes, header.data(), header.size());
  file += payload;
  return file;
}

std::string model_file_from(const std::string& input) {
  if (input.compare(0, kMagicBytes, kMagic) != 0) return file_around(input);
  std::string file = input;
  seal_file(file);
  return file;
}

void run_one_batch(const deploy::CompiledModel& model) {
  deploy::DeployedClassifier classifier(model);
  const int64_t length = std::min<int64_t>(3, model.config.max_position_embeddings);
  torch::Tensor ids = torch::arange(length, torch::kInt64).remainder(model.config.vocab_size).unsqueeze(0);
  torch::Tensor logits = classifier.forward(ids, torch::ones_like(ids));
  if (logits.size(0) != 1 || logits.size(1) != model.config.num_labels) fuzz::round_trip_failed("logits shape");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::use_one_thread();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = model_file_from(fuzz::input_string(data, size));
  try {
    const deploy::CompiledModel model = deploy::parse_compiled_model(bytes, "fuzz.whtl");
    deploy::parse_compiled_model(deploy::serialize_compiled_model(model), "rewritten");
    try {
      deploy::make_tokenizer(model.tokenizer);
    } catch (const Error&) {  // options it cannot rebuild: `whittle run` then needs --tokenizer
    }
    run_one_batch(model);
  } catch (const Error&) {
  }
  return 0;
}
