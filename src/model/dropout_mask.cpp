#include "model/dropout_mask.h"

#include <bit>

namespace whittle::model::detail {
namespace {

// A stretch of indices below the next multiple of 2^32. Within it the index's
// high half, and so its hash, is constant: what remains per element is 32-bit
// integer work, which the compiler vectorises (the 64-bit form it does not).
struct Piece {
  int64_t length;
  uint32_t low_first;  // the low half of the first index
  uint32_t high_hash;  // the hash of the high half, shared by the piece
};

inline Piece piece_at(const DropoutMask& mask, uint64_t index, int64_t remaining) {
  const uint64_t to_boundary = (uint64_t{1} << 32) - (index & 0xffffffffULL);
  return {static_cast<int64_t>(std::min<uint64_t>(static_cast<uint64_t>(remaining), to_boundary)),
          static_cast<uint32_t>(index), mix32(static_cast<uint32_t>(index >> 32) + mask.key_high)};
}

}  // namespace

// x86-64-v3 (AVX2) clones are picked by CPU features, on Intel and AMD alike.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void apply_dropout_run(const DropoutMask& mask,
                                                                                uint64_t first_index, int64_t count,
                                                                                const float* in, float* out) {
  // Copied out of the struct: `out` could alias it, which would force a
  // reload on every element and keep the loop scalar.
  const uint32_t key_low = mask.key_low;
  const uint32_t drop_below = mask.drop_below;
  const auto scale_bits = std::bit_cast<uint32_t>(mask.scale);
  for (int64_t offset = 0; offset < count;) {
    const Piece piece = piece_at(mask, first_index + static_cast<uint64_t>(offset), count - offset);
#pragma omp simd
    for (int64_t j = 0; j < piece.length; ++j) {
      const uint32_t low = (piece.low_first + static_cast<uint32_t>(j)) ^ key_low;
      // scale where kept, +0 where dropped, selected with a 32-bit mask.
      const uint32_t kept = 0u - static_cast<uint32_t>(mix32(low + piece.high_hash) >= drop_below);
      out[offset + j] = in[offset + j] * std::bit_cast<float>(scale_bits & kept);
    }
    offset += piece.length;
  }
}

__attribute__((target_clones("arch=x86-64-v3", "default"))) void fill_keep_run(const DropoutMask& mask,
                                                                            uint64_t first_index, int64_t count,
                                                                            uint8_t* keep) {
  const uint32_t key_low = mask.key_low;
  const uint32_t drop_below = mask.drop_below;
  for (int64_t offset = 0; offset < count;) {
    const Piece piece = piece_at(mask, first_index + static_cast<uint64_t>(offset), count - offset);
#pragma omp simd
    for (int64_t j = 0; j < piece.length; ++j) {
      const uint32_t low = (piece.low_first + static_cast<uint32_t>(j)) ^ key_low;
      keep[offset + j] = static_cast<uint8_t>(mix32(low + piece.high_hash) >= drop_below);
    }
    offset += piece.length;
  }
}

}  // namespace whittle::model::detail
