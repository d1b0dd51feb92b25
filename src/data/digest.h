#pragma once
#include <cstdint>
#include <string_view>

namespace whittle::data {

// A fast non-cryptographic 64-bit digest (8 bytes per step), for cache keys
// and checksums of our own files. Not for anything adversarial.
class Digest64 {
 public:
  // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
  void add(std::string_view bytes);
  void add(uint64_t value);
  // Bytes without a length prefix, for checksumming one contiguous buffer.
  void add_raw(std::string_view bytes);
  uint64_t value() const;

 private:
  void absorb(uint64_t word);
  uint64_t state_ = 0x243f6a8885a308d3ULL;
  uint64_t words_ = 0;
};

}  // namespace whittle::data
