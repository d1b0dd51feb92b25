// GCC 12's AVX-512 headers build some vectors from deliberately undefined
// ones (_mm512_undefined_*), which -Wmaybe-uninitialized reports at every use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "deploy/kernels/vnni_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace whittle::deploy::kernels {
namespace {

// Quantizes a whole row, 16 lanes at a time: masked loads and stores reach
// its last element, so quantize_element is left nothing to do.
template <typename Lanes>
struct VnniRow {
  WHITTLE_VNNI int64_t operator()(const float* in, int64_t k, QuantizeConstants c, typename Lanes::Input* row) const {
    const __m512 scale = _mm512_set1_ps(c.scale);
    const __m512 lowest = _mm512_set1_ps(c.lowest);
    const __m512 highest = _mm512_set1_ps(c.highest);
    const __m512i zero_point = _mm512_set1_epi32(Lanes::zero_point);
    for (int64_t j = 0; j < k; j += 16) {
      const __mmask16 mask = k - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (k - j)) - 1);
      __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, in + j), scale);
      v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm512_min_ps(_mm512_max_ps(v, lowest), highest);
      Lanes::store(row + j, mask, _mm512_add_epi32(_mm512_cvtps_epi32(v), zero_point));
    }
    return k;
  }
};

// Rows x 64 outputs: each step broadcasts 4 input bytes of a row and
// multiplies them into the 4 x 64 weight bytes of the panel.
template <typename Lanes, int Rows>
WHITTLE_VNNI inline void vnni_tile(const GemmArguments& a, int64_t row, int64_t panel) {
  const int64_t groups = a.k_padded / Lanes::group;
  const int64_t row_bytes = a.k_padded * static_cast<int64_t>(sizeof(typename Lanes::Input));
  const uint8_t* w = a.weight + panel * groups * kPanelColumns * kGroupBytes;
  const uint8_t* x = static_cast<const uint8_t*>(a.x) + row * row_bytes;
  // Fully unrolled, so that the accumulators live in registers.
  __m512i sums[Rows][4];
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) sums[r][j] = _mm512_setzero_si512();
  }
  for (int64_t g = 0; g < groups; ++g, w += kPanelColumns * kGroupBytes) {
    const __m512i w0 = _mm512_loadu_si512(w);
    const __m512i w1 = _mm512_loadu_si512(w + 64);
    const __m512i w2 = _mm512_loadu_si512(w + 128);
    const __m512i w3 = _mm512_loadu_si512(w + 192);
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
      int32_t bytes;
      std::memcpy(&bytes, x + r * row_bytes + g * kGroupBytes, sizeof bytes);
      const __m512i xb = _mm512_set1_epi32(bytes);
      sums[r][0] = Lanes::multiply_add(sums[r][0], xb, w0);
      sums[r][1] = Lanes::multiply_add(sums[r][1], xb, w1);
      sums[r][2] = Lanes::multiply_add(sums[r][2], xb, w2);
      sums[r][3] = Lanes::multiply_add(sums[r][3], xb, w3);
    }
  }
  const __m512 scale = _mm512_set1_ps(a.scale);
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const int64_t first = panel * kPanelColumns + 16 * j;
    if (first >= a.columns) break;
    const __mmask16 mask = a.columns - first >= 16 ? __mmask16(0xffff) : __mmask16((1u << (a.columns - first)) - 1);
    const __m512i compensation = _mm512_loadu_si512(a.compensation + first);
    const __m512 bias = _mm512_loadu_ps(a.bias + first);
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
      __m512 exact = _mm512_cvtepi32_ps(_mm512_sub_epi32(sums[r][j], compensation));
      _mm512_mask_storeu_ps(a.y + (row + r) * a.columns + first, mask, _mm512_fmadd_ps(exact, scale, bias));
    }
  }
}

}  // namespace

template <typename Lanes>
WHITTLE_VNNI void quantize_rows_vnni(const float* x, int64_t rows, int64_t k, int64_t k_padded, QuantizeConstants c,
                                     typename Lanes::Input* out) {
  quantize_rows_with<Lanes>(VnniRow<Lanes>{}, x, rows, k, k_padded, c, out);
}

template <typename Lanes>
WHITTLE_VNNI void gemm_rows_vnni(const GemmArguments& a) {
  for (int64_t p = 0; p < a.panels; ++p) {  // the panel stays in L1 while the rows go by
    int64_t row = 0;
    for (; row + kTileRows <= a.rows; row += kTileRows) vnni_tile<Lanes, kTileRows>(a, row, p);
    switch (a.rows - row) {
      case 5: vnni_tile<Lanes, 5>(a, row, p); break;
      case 4: vnni_tile<Lanes, 4>(a, row, p); break;
      case 3: vnni_tile<Lanes, 3>(a, row, p); break;
      case 2: vnni_tile<Lanes, 2>(a, row, p); break;
      case 1: vnni_tile<Lanes, 1>(a, row, p); break;
      default: break;
    }
  }
}

WHITTLE_INSTANTIATE_QUANTIZE_ROWS(quantize_rows_vnni);
template void gemm_rows_vnni<Int8Lanes>(const GemmArguments&);
template void gemm_rows_vnni<Int16Lanes>(const GemmArguments&);

}  // namespace whittle::deploy::kernels
