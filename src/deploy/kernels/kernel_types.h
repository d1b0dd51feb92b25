#pragma once
// What the integer kernels (one file per instruction set) and their
// dispatcher in deploy/integer_linear.cpp share: the packed layout's
// constants, the two integer formats, and the arguments of a call.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

namespace whittle::deploy::kernels {

// The packed weight layout: [panels][k_padded / group][64][group] elements.
inline constexpr int64_t kPanelColumns = 64;  // four zmm registers of int32 lanes
inline constexpr int64_t kGroupBytes = 4;     // input bytes per int32 lane and step

#define WHITTLE_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

// The two integer formats: what an input and a weight element are, how many
// of them one int32 lane sums per step, and the instruction that does it.
struct Int8Lanes {
  using Input = uint8_t;
  using Weight = int8_t;
  static constexpr int64_t group = 4;
  static constexpr int32_t zero_point = 128;
  WHITTLE_VNNI static __m512i multiply_add(__m512i sums, __m512i x, __m512i w) { return _mm512_dpbusd_epi32(sums, x, w); }
  WHITTLE_VNNI static void store(Input* out, __mmask16 mask, __m512i q) { _mm512_mask_cvtepi32_storeu_epi8(out, mask, q); }
};

struct Int16Lanes {
  using Input = int16_t;
  using Weight = int16_t;
  static constexpr int64_t group = 2;
  static constexpr int32_t zero_point = 0;
  WHITTLE_VNNI static __m512i multiply_add(__m512i sums, __m512i x, __m512i w) { return _mm512_dpwssd_epi32(sums, x, w); }
  WHITTLE_VNNI static void store(Input* out, __mmask16 mask, __m512i q) { _mm512_mask_cvtepi32_storeu_epi16(out, mask, q); }
};

struct QuantizeConstants {
  float scale;
  float lowest;
  float highest;
};

// What the kernels need to know about one call.
struct GemmArguments {
  const void* x;  // [rows, k_padded] Input elements
  int64_t rows;
  int64_t k_padded;
  const uint8_t* weight;  // packed panels
  int64_t panels;
  const int32_t* compensation;
  const float* bias;
  float scale;
  float* y;  // [rows, columns]
  int64_t columns;
};

// The same rounding, in the same float32 operations, as the fixed-point
// quantizer: nearbyint rounds half to even.
template <typename Lanes>
typename Lanes::Input quantize_element(float x, QuantizeConstants c) {
  float rounded = std::nearbyint(x * c.scale);
  float clamped = rounded < c.lowest ? c.lowest : (rounded > c.highest ? c.highest : rounded);
  return static_cast<typename Lanes::Input>(static_cast<int32_t>(clamped) + Lanes::zero_point);
}

}  // namespace whittle::deploy::kernels
