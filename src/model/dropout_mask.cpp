#include "model/dropout_mask.h"

#include <bit>

namespace whittle::model::detail {

__attribute__((target_clones("arch=haswell", "default"))) void apply_dropout_run(const DropoutMask& mask,
                                                                                uint64_t first_index, int64_t count,
                                                                                const float* in, float* out) {
  // Copied out of the struct: `out` could alias it, which would force a
  // reload on every element and keep the loop scalar.
  const uint32_t key_low = mask.key_low;
  const uint32_t drop_below = mask.drop_below;
  const auto scale_bits = std::bit_cast<uint32_t>(mask.scale);
  while (count > 0) {
    // Up to the next multiple of 2^32 the index's high half, and so its
    // hash, is constant: what remains per element is 32-bit integer work,
    // which the compiler vectorises (the 64-bit form it does not).
    const uint64_t to_boundary = (uint64_t{1} << 32) - (first_index & 0xffffffffULL);
    const auto piece = static_cast<int64_t>(std::min<uint64_t>(static_cast<uint64_t>(count), to_boundary));
    const uint32_t high = mix32(static_cast<uint32_t>(first_index >> 32) + mask.key_high);
    const auto low_first = static_cast<uint32_t>(first_index);
#pragma omp simd
    for (int64_t j = 0; j < piece; ++j) {
      const uint32_t low = (low_first + static_cast<uint32_t>(j)) ^ key_low;
      // scale where kept, +0 where dropped, selected with a 32-bit mask.
      const uint32_t kept = 0u - static_cast<uint32_t>(mix32(low + high) >= drop_below);
      out[j] = in[j] * std::bit_cast<float>(scale_bits & kept);
    }
    first_index += static_cast<uint64_t>(piece);
    count -= piece;
    in += piece;
    out += piece;
  }
}

}  // namespace whittle::model::detail
