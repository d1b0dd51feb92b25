#include "data/digest.h"

#include <cstring>

#include "util/hash.h"

namespace whittle::data {

void Digest64::absorb(uint64_t word) {
  state_ = (state_ ^ word) * 0x9e3779b97f4a7c15ULL;
  state_ ^= state_ >> 29;
  ++words_;
}

void Digest64::add(uint64_t value) { absorb(value); }

void Digest64::add(std::string_view bytes) {
  absorb(bytes.size());
  add_raw(bytes);
}

void Digest64::add_raw(std::string_view bytes) {
  size_t offset = 0;
  for (; offset + sizeof(uint64_t) <= bytes.size(); offset += sizeof(uint64_t)) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + offset, sizeof word);
    absorb(word);
  }
  if (offset < bytes.size()) {
    // The tail is zero-padded; the byte count keeps "a" and "a\0" apart.
    uint64_t word = 0;
    std::memcpy(&word, bytes.data() + offset, bytes.size() - offset);
    absorb(word);
    absorb(bytes.size() - offset);
  }
}

uint64_t Digest64::value() const { return splitmix64_mix(state_ ^ words_); }

}  // namespace whittle::data
