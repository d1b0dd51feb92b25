#pragma once
// What the integer kernels (one file per instruction set) and their
// dispatcher in deploy/integer_linear.cpp share: the packed layout's
// constants, the two integer formats, the arguments of a call, and the
// quantizers' row loop.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace whittle::deploy::kernels {

// The packed weight layout: [panels][k_padded / group][64][group] elements.
inline constexpr int64_t kPanelColumns = 64;  // four zmm registers of int32 lanes
inline constexpr int64_t kGroupBytes = 4;     // input bytes per int32 lane and step

#define WHITTLE_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

// An integer format: what an input and a weight element are, how many of
// them one int32 lane sums per step, and the input that stands for zero.
template <typename InputElement, typename WeightElement, int64_t Group, int32_t ZeroPoint>
struct LaneFormat {
  using Input = InputElement;
  using Weight = WeightElement;
  static constexpr int64_t group = Group;
  static constexpr int32_t zero_point = ZeroPoint;
};

// The two formats, each with the VNNI instruction that sums its products and
// the store that narrows int32 lanes to its inputs.
struct Int8Lanes : LaneFormat<uint8_t, int8_t, 4, 128> {
  WHITTLE_VNNI static __m512i multiply_add(__m512i sums, __m512i x, __m512i w) { return _mm512_dpbusd_epi32(sums, x, w); }
  WHITTLE_VNNI static void store(Input* out, __mmask16 mask, __m512i q) { _mm512_mask_cvtepi32_storeu_epi8(out, mask, q); }
};

struct Int16Lanes : LaneFormat<int16_t, int16_t, 2, 0> {
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

// The row loop of every quantizer: `row_start(in, k, c, row)` quantizes the
// start of a row with its file's instructions and returns where it stopped,
// quantize_element does the rest, and the padding holds the zero point.
// Always inlined, so that `row_start` can inline into its caller, which is
// compiled for the same instructions (this template is not).
template <typename Lanes, typename RowStart>
[[gnu::always_inline]] inline void quantize_rows_with(RowStart row_start, const float* x, int64_t rows, int64_t k,
                                                      int64_t k_padded, QuantizeConstants c,
                                                      typename Lanes::Input* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * k;
    typename Lanes::Input* row = out + r * k_padded;
    int64_t j = row_start(in, k, c, row);
    for (; j < k; ++j) row[j] = quantize_element<Lanes>(in[j], c);
    std::fill(row + k, row + k_padded, static_cast<typename Lanes::Input>(Lanes::zero_point));
  }
}

// Every kernels file defines its quantizer for both formats (the gemm
// kernels' signatures differ between the files).
#define WHITTLE_INSTANTIATE_QUANTIZE_ROWS(kernel)                                                              \
  template void kernel<Int8Lanes>(const float*, int64_t, int64_t, int64_t, QuantizeConstants, Int8Lanes::Input*); \
  template void kernel<Int16Lanes>(const float*, int64_t, int64_t, int64_t, QuantizeConstants, Int16Lanes::Input*)

}  // namespace whittle::deploy::kernels
