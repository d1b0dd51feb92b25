// The token cache (tokenized reviews saved between runs). The reader only
// trusts a file whose key matches the reviews and whose checksum matches its
// bytes; the target takes the key from the input and sets the checksum, so
// that mutations reach the checks behind them. Whatever decodes must encode
// back to the same bytes.
#include <cstring>

#include "data/digest.h"
#include "data/token_cache.h"
#include "fuzz_support.h"
#include "util/error.h"

namespace {

using namespace whittle;

constexpr size_t kReservedOffset = 12;  // a u32 the reader ignores and the writer sets to 0
constexpr size_t kKeyOffset = 16;
constexpr size_t kChecksumBytes = 8;

uint64_t key_in(const std::string& bytes) {
  uint64_t key = 0;
  if (bytes.size() >= kKeyOffset + sizeof key) std::memcpy(&key, bytes.data() + kKeyOffset, sizeof key);
  return key;
}

void set_checksum(std::string& bytes) {
  if (bytes.size() < kChecksumBytes) return;
  data::Digest64 digest;
  digest.add_raw(std::string_view(bytes).substr(0, bytes.size() - kChecksumBytes));
  const uint64_t checksum = digest.value();
  std::memcpy(bytes.data() + bytes.size() - kChecksumBytes, &checksum, kChecksumBytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes = fuzz::input_string(data, size);
  set_checksum(bytes);
  const uint64_t key = key_in(bytes);
  try {
    const data::TokenizedDataset dataset = data::decode_token_cache(bytes, key);
    if (dataset.ids.size() != dataset.labels.size()) fuzz::round_trip_failed("one label per example");
    std::string expected = bytes;
    std::memset(expected.data() + kReservedOffset, 0, sizeof(uint32_t));
    set_checksum(expected);
    if (data::encode_token_cache(dataset, key) != expected) fuzz::round_trip_failed("token cache bytes");
  } catch (const Error&) {
  }
  return 0;
}
