#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace whittle {

// The constant splitmix64 adds per step: stepping a counter by it walks
// splitmix64's own sequence.
inline constexpr uint64_t kSplitmixIncrement = 0x9e3779b97f4a7c15ULL;

// splitmix64's finaliser alone: a bijective 64-bit mix with full avalanche
// (every input bit reaches every output bit).
inline constexpr uint64_t splitmix64_mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One splitmix64 step: derives independent seeds and counter-based random
// streams from one seed.
inline constexpr uint64_t splitmix64(uint64_t x) { return splitmix64_mix(x + kSplitmixIncrement); }

// FNV-1a, 64 bits: the same on every machine and build (std::hash is not
// promised to be), for digests that processes and runs compare.
class Fnv1a64 {
 public:
  constexpr void add(std::string_view bytes) {
    for (const char byte : bytes) {
      hash_ ^= static_cast<unsigned char>(byte);
      hash_ *= 0x100000001b3ULL;
    }
  }
  constexpr uint64_t value() const { return hash_; }
  std::string hex() const {
    char digits[17];
    std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(hash_));
    return digits;
  }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace whittle
