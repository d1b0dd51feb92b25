#pragma once
#include <cstdint>

namespace whittle {

// splitmix64's finaliser: a bijective 64-bit mix with full avalanche, used to
// derive independent seeds and counter-based random streams from one seed.
inline constexpr uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The constant splitmix64 adds per step: stepping a counter by it walks
// splitmix64's own sequence.
inline constexpr uint64_t kSplitmixIncrement = 0x9e3779b97f4a7c15ULL;

}  // namespace whittle
