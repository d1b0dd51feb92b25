#include "deploy/kernels/avx2_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>

// Without VNNI there is no one-instruction int8 dot product, but vpmaddubsw
// multiplies 32 u8 x s8 pairs and adds neighbours into int16 lanes. That is
// exact while no lane can pass 32767, which the weights bound: a lane sums
// 2 · run products of at most 255 · max|W| (see avx2_int8_run), so `run`
// groups add up in int16 before vpmaddwd widens them into the int32 sums.
// int16 layers use vpmaddwd directly (pairs of int16 products into int32).

namespace whittle::deploy::kernels {
namespace {

constexpr int64_t kAvx2SliceColumns = 16;  // two ymm registers of int32 lanes
constexpr int kAvx2TileRows = 4;

// The scalar quantizer's operations, 8 lanes at a time (vroundps rounds half
// to even, as nearbyint does in the default rounding mode).
// 8 inputs as int32 lanes: clamp(round(x · 2^f)) + zero point.
WHITTLE_AVX2 inline __m256i quantize_8(const float* in, __m256 scale, __m256 lowest, __m256 highest,
                                       __m256i zero_point) {
  __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(in), scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v = _mm256_min_ps(_mm256_max_ps(v, lowest), highest);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), zero_point);
}

// Narrows quantized int32 lanes to the input elements, 32 bytes a store:
// the values already lie in the element's range, so the saturating packs
// keep them, and a permutation undoes the packs' per-128-bit-lane order.
WHITTLE_AVX2 inline int64_t narrow_quantized(const float* in, int64_t k, __m256 scale, __m256 lowest, __m256 highest,
                                             __m256i zero_point, uint8_t* row) {
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  int64_t j = 0;
  for (; j + 32 <= k; j += 32) {
    const __m256i low = _mm256_packs_epi32(quantize_8(in + j, scale, lowest, highest, zero_point),
                                           quantize_8(in + j + 8, scale, lowest, highest, zero_point));
    const __m256i high = _mm256_packs_epi32(quantize_8(in + j + 16, scale, lowest, highest, zero_point),
                                            quantize_8(in + j + 24, scale, lowest, highest, zero_point));
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(low, high), order);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + j), bytes);
  }
  return j;
}

WHITTLE_AVX2 inline int64_t narrow_quantized(const float* in, int64_t k, __m256 scale, __m256 lowest, __m256 highest,
                                             __m256i zero_point, int16_t* row) {
  int64_t j = 0;
  for (; j + 16 <= k; j += 16) {
    const __m256i pairs = _mm256_packs_epi32(quantize_8(in + j, scale, lowest, highest, zero_point),
                                             quantize_8(in + j + 8, scale, lowest, highest, zero_point));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + j), _mm256_permute4x64_epi64(pairs, 0xD8));
  }
  return j;
}

}  // namespace

template <typename Lanes>
WHITTLE_AVX2 void quantize_rows_avx2(const float* x, int64_t rows, int64_t k, int64_t k_padded, QuantizeConstants c,
                                     typename Lanes::Input* out) {
  const __m256 scale = _mm256_set1_ps(c.scale);
  const __m256 lowest = _mm256_set1_ps(c.lowest);
  const __m256 highest = _mm256_set1_ps(c.highest);
  const __m256i zero_point = _mm256_set1_epi32(Lanes::zero_point);
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * k;
    typename Lanes::Input* row = out + r * k_padded;
    int64_t j = narrow_quantized(in, k, scale, lowest, highest, zero_point, row);
    for (; j < k; ++j) row[j] = quantize_element<Lanes>(in[j], c);
    std::fill(row + k, row + k_padded, static_cast<typename Lanes::Input>(Lanes::zero_point));
  }
}

namespace {

// Stores the int32 sums of 8 columns as y = (sums - compensation) · scale + bias.
WHITTLE_AVX2 inline void avx2_store(const GemmArguments& a, int64_t row, int64_t first, __m256i sums) {
  const int64_t count = std::min<int64_t>(8, a.columns - first);
  const __m256i compensation = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.compensation + first));
  const __m256 exact = _mm256_cvtepi32_ps(_mm256_sub_epi32(sums, compensation));
  const __m256 y = _mm256_fmadd_ps(exact, _mm256_set1_ps(a.scale), _mm256_loadu_ps(a.bias + first));
  float* out = a.y + row * a.columns + first;
  if (count == 8) {
    _mm256_storeu_ps(out, y);
  } else {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, y);
    std::copy(lanes, lanes + count, out);
  }
}

// The packed weights of one 16-column slice of a panel, from its first group.
inline const uint8_t* slice_weights(const GemmArguments& a, int64_t groups, int64_t panel, int64_t slice) {
  return a.weight + panel * groups * kPanelColumns * kGroupBytes + slice * kAvx2SliceColumns * kGroupBytes;
}

// Stores a tile's rows x 16 int32 sums (two registers a row).
template <int Rows>
WHITTLE_AVX2 inline void avx2_store_tile(const GemmArguments& a, int64_t row, int64_t panel, int64_t slice,
                                         const __m256i (&sums)[Rows][2]) {
  const int64_t first = panel * kPanelColumns + slice * kAvx2SliceColumns;
#pragma GCC unroll 4
  for (int r = 0; r < Rows; ++r) {
    avx2_store(a, row + r, first, sums[r][0]);
    if (first + 8 < a.columns) avx2_store(a, row + r, first + 8, sums[r][1]);
  }
}

// Rows x 16 columns of one panel slice, int8: 4 input bytes of a row are
// broadcast against the 16 columns' 4 weight bytes (two ymm) per group.
template <int Rows>
WHITTLE_AVX2 inline void avx2_int8_tile(const GemmArguments& a, int64_t row, int64_t panel, int64_t slice,
                                        int64_t run) {
  const int64_t groups = a.k_padded / Int8Lanes::group;
  const uint8_t* w = slice_weights(a, groups, panel, slice);
  const uint8_t* x = static_cast<const uint8_t*>(a.x) + row * a.k_padded;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i sums[Rows][2];
#pragma GCC unroll 4
  for (int r = 0; r < Rows; ++r) sums[r][0] = sums[r][1] = _mm256_setzero_si256();
  for (int64_t start = 0; start < groups; start += run) {
    const int64_t stop = std::min(groups, start + run);
    __m256i narrow[Rows][2];
#pragma GCC unroll 4
    for (int r = 0; r < Rows; ++r) narrow[r][0] = narrow[r][1] = _mm256_setzero_si256();
    for (int64_t g = start; g < stop; ++g) {
      const uint8_t* wg = w + g * kPanelColumns * kGroupBytes;
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + 32));
#pragma GCC unroll 4
      for (int r = 0; r < Rows; ++r) {
        int32_t bytes;
        std::memcpy(&bytes, x + r * a.k_padded + g * kGroupBytes, sizeof bytes);
        const __m256i xb = _mm256_set1_epi32(bytes);
        narrow[r][0] = _mm256_add_epi16(narrow[r][0], _mm256_maddubs_epi16(xb, w0));
        narrow[r][1] = _mm256_add_epi16(narrow[r][1], _mm256_maddubs_epi16(xb, w1));
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < Rows; ++r) {
      sums[r][0] = _mm256_add_epi32(sums[r][0], _mm256_madd_epi16(narrow[r][0], ones));
      sums[r][1] = _mm256_add_epi32(sums[r][1], _mm256_madd_epi16(narrow[r][1], ones));
    }
  }
  avx2_store_tile<Rows>(a, row, panel, slice, sums);
}

// Rows x 16 columns, int16: 2 input elements of a row against the 16
// columns' 2 weight elements (two ymm) per group.
template <int Rows>
WHITTLE_AVX2 inline void avx2_int16_tile(const GemmArguments& a, int64_t row, int64_t panel, int64_t slice, int64_t) {
  const int64_t groups = a.k_padded / Int16Lanes::group;
  const uint8_t* w = slice_weights(a, groups, panel, slice);
  const auto* x = static_cast<const int16_t*>(a.x) + row * a.k_padded;
  __m256i sums[Rows][2];
#pragma GCC unroll 4
  for (int r = 0; r < Rows; ++r) sums[r][0] = sums[r][1] = _mm256_setzero_si256();
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* wg = w + g * kPanelColumns * kGroupBytes;
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + 32));
#pragma GCC unroll 4
    for (int r = 0; r < Rows; ++r) {
      int32_t pair;
      std::memcpy(&pair, x + r * a.k_padded + g * Int16Lanes::group, sizeof pair);
      const __m256i xp = _mm256_set1_epi32(pair);
      sums[r][0] = _mm256_add_epi32(sums[r][0], _mm256_madd_epi16(xp, w0));
      sums[r][1] = _mm256_add_epi32(sums[r][1], _mm256_madd_epi16(xp, w1));
    }
  }
  avx2_store_tile<Rows>(a, row, panel, slice, sums);
}

template <typename Lanes>
struct Avx2Tile;
template <>
struct Avx2Tile<Int8Lanes> {
  template <int Rows>
  static void run(const GemmArguments& a, int64_t row, int64_t panel, int64_t slice, int64_t run) {
    avx2_int8_tile<Rows>(a, row, panel, slice, run);
  }
};
template <>
struct Avx2Tile<Int16Lanes> {
  template <int Rows>
  static void run(const GemmArguments& a, int64_t row, int64_t panel, int64_t slice, int64_t run) {
    avx2_int16_tile<Rows>(a, row, panel, slice, run);
  }
};

}  // namespace

template <typename Lanes>
void gemm_rows_avx2(const GemmArguments& a, int64_t run) {
  using Tile = Avx2Tile<Lanes>;
  for (int64_t p = 0; p < a.panels; ++p) {
    for (int64_t slice = 0; slice < kPanelColumns / kAvx2SliceColumns; ++slice) {
      if (p * kPanelColumns + slice * kAvx2SliceColumns >= a.columns) break;
      int64_t row = 0;
      for (; row + kAvx2TileRows <= a.rows; row += kAvx2TileRows) Tile::template run<kAvx2TileRows>(a, row, p, slice, run);
      switch (a.rows - row) {
        case 3: Tile::template run<3>(a, row, p, slice, run); break;
        case 2: Tile::template run<2>(a, row, p, slice, run); break;
        case 1: Tile::template run<1>(a, row, p, slice, run); break;
        default: break;
      }
    }
  }
}

// How many int8 groups the AVX2 kernel may add in int16 lanes before
// widening: each lane gains at most 2 · 255 · max|W| per group. 0 means
// that even one vpmaddubsw could saturate (max|W| > 64).
int64_t avx2_int8_run(const torch::Tensor& weight) {
  const int64_t largest = weight.numel() == 0 ? 0 : weight.abs().max().item<int64_t>();
  if (largest == 0) return std::numeric_limits<int32_t>::max();
  return 32767 / (2 * 255 * largest);
}

template void quantize_rows_avx2<Int8Lanes>(const float*, int64_t, int64_t, int64_t, QuantizeConstants,
                                            Int8Lanes::Input*);
template void quantize_rows_avx2<Int16Lanes>(const float*, int64_t, int64_t, int64_t, QuantizeConstants,
                                             Int16Lanes::Input*);
template void gemm_rows_avx2<Int8Lanes>(const GemmArguments&, int64_t);
template void gemm_rows_avx2<Int16Lanes>(const GemmArguments&, int64_t);

}  // namespace whittle::deploy::kernels
