#pragma once
// The counter-based dropout mask shared by fast_dropout and tiled_attention:
// element `index` of a tensor is kept when a hash of (seed, index) clears a
// threshold, so a backward pass regenerates the mask from the seed alone.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "util/hash.h"

namespace whittle::model::detail {

// A 32-bit integer hash with good avalanche (the "lowbias32" constants);
// cheap enough that dropout stays memory-bound.
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

struct DropoutMask {
  uint32_t key_low;
  uint32_t key_high;
  uint32_t drop_below;  // an element is dropped when its hash is below this
  float scale;          // 1 / (1 - p), applied to kept elements

  DropoutMask(uint64_t seed, double probability) {
    uint64_t key = splitmix64(seed);
    double threshold = std::ldexp(probability, 32);
    double capped = std::min(threshold, static_cast<double>(std::numeric_limits<uint32_t>::max()));
    key_low = static_cast<uint32_t>(key);
    key_high = static_cast<uint32_t>(key >> 32);
    drop_below = static_cast<uint32_t>(capped);
    scale = static_cast<float>(1.0 / (1.0 - probability));
  }

  bool keeps(uint64_t index) const {
    uint32_t low = static_cast<uint32_t>(index) ^ key_low;
    uint32_t high = static_cast<uint32_t>(index >> 32) + key_high;
    return mix32(low + mix32(high)) >= drop_below;
  }

  // The factor element `index` is multiplied by: 0 or scale.
  float factor(uint64_t index) const { return keeps(index) ? scale : 0.0f; }
};

// out[j] = in[j] * mask.factor(first_index + j) for j < count, vectorised:
// the same factors as the scalar form, bit for bit.
void apply_dropout_run(const DropoutMask& mask, uint64_t first_index, int64_t count, const float* in, float* out);

// keep[j] = mask.keeps(first_index + j) as 0 or 1, for j < count, vectorised.
void fill_keep_run(const DropoutMask& mask, uint64_t first_index, int64_t count, uint8_t* keep);

}  // namespace whittle::model::detail
