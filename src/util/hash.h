#pragma once
#include <cstdint>

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

}  // namespace whittle
