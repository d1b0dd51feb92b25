#include "deploy/integer_linear.h"

#include <ATen/Parallel.h>

// GCC 12's AVX-512 headers build some vectors from deliberately undefined
// ones (_mm512_undefined_*), which -Wmaybe-uninitialized reports at every use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "util/error.h"

namespace whittle::deploy {
namespace {

constexpr int64_t kPanelColumns = 64;  // four zmm registers of int32 lanes
constexpr int64_t kGroupBytes = 4;     // input bytes per int32 lane and step
constexpr int64_t kTileRows = 6;       // 6 rows x 4 registers = 24 accumulators
constexpr int64_t kRowsPerTask = 16 * kTileRows;

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

QuantizeConstants quantize_constants(const passes::FixedPointFormat& format) {
  return {static_cast<float>(std::ldexp(1.0, static_cast<int>(format.frac_width))),
          static_cast<float>(-(int64_t{1} << (format.width - 1))),
          static_cast<float>((int64_t{1} << (format.width - 1)) - 1)};
}

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

// --- scalar ------------------------------------------------------------------

// The same rounding, in the same float32 operations, as the fixed-point
// quantizer: nearbyint rounds half to even.
template <typename Lanes>
typename Lanes::Input quantize_element(float x, QuantizeConstants c) {
  float rounded = std::nearbyint(x * c.scale);
  float clamped = rounded < c.lowest ? c.lowest : (rounded > c.highest ? c.highest : rounded);
  return static_cast<typename Lanes::Input>(static_cast<int32_t>(clamped) + Lanes::zero_point);
}

template <typename Lanes>
void quantize_rows_scalar(const float* x, int64_t rows, int64_t k, int64_t k_padded, QuantizeConstants c,
                          typename Lanes::Input* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * k;
    typename Lanes::Input* row = out + r * k_padded;
    for (int64_t j = 0; j < k; ++j) row[j] = quantize_element<Lanes>(in[j], c);
    std::fill(row + k, row + k_padded, static_cast<typename Lanes::Input>(Lanes::zero_point));
  }
}

template <typename Lanes>
void gemm_rows_scalar(const GemmArguments& a) {
  const int64_t groups = a.k_padded / Lanes::group;
  const auto* inputs = static_cast<const typename Lanes::Input*>(a.x);
  const auto* weights = reinterpret_cast<const typename Lanes::Weight*>(a.weight);
  int32_t sums[kPanelColumns];
  for (int64_t r = 0; r < a.rows; ++r) {
    const typename Lanes::Input* x = inputs + r * a.k_padded;
    for (int64_t p = 0; p < a.panels; ++p) {
      std::fill(std::begin(sums), std::end(sums), 0);
      const typename Lanes::Weight* panel = weights + p * groups * kPanelColumns * Lanes::group;
      for (int64_t g = 0; g < groups; ++g) {
        const typename Lanes::Weight* w = panel + g * kPanelColumns * Lanes::group;
        for (int64_t c = 0; c < kPanelColumns; ++c) {
          int32_t sum = 0;
          for (int64_t i = 0; i < Lanes::group; ++i) {
            sum += int32_t{x[g * Lanes::group + i]} * int32_t{w[c * Lanes::group + i]};
          }
          sums[c] += sum;
        }
      }
      const int64_t first = p * kPanelColumns;
      const int64_t count = std::min(kPanelColumns, a.columns - first);
      for (int64_t c = 0; c < count; ++c) {
        float exact = static_cast<float>(sums[c] - a.compensation[first + c]);
        a.y[r * a.columns + first + c] = std::fma(exact, a.scale, a.bias[first + c]);
      }
    }
  }
}

// --- AVX-512 VNNI --------------------------------------------------------------

template <typename Lanes>
WHITTLE_VNNI void quantize_rows_vnni(const float* x, int64_t rows, int64_t k, int64_t k_padded, QuantizeConstants c,
                                     typename Lanes::Input* out) {
  const __m512 scale = _mm512_set1_ps(c.scale);
  const __m512 lowest = _mm512_set1_ps(c.lowest);
  const __m512 highest = _mm512_set1_ps(c.highest);
  const __m512i zero_point = _mm512_set1_epi32(Lanes::zero_point);
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * k;
    typename Lanes::Input* row = out + r * k_padded;
    for (int64_t j = 0; j < k; j += 16) {
      const __mmask16 mask = k - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (k - j)) - 1);
      __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, in + j), scale);
      v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm512_min_ps(_mm512_max_ps(v, lowest), highest);
      Lanes::store(row + j, mask, _mm512_add_epi32(_mm512_cvtps_epi32(v), zero_point));
    }
    std::fill(row + k, row + k_padded, static_cast<typename Lanes::Input>(Lanes::zero_point));
  }
}

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


// --- AVX2 --------------------------------------------------------------------
// Without VNNI there is no one-instruction int8 dot product, but vpmaddubsw
// multiplies 32 u8 x s8 pairs and adds neighbours into int16 lanes. That is
// exact while no lane can pass 32767, which the weights bound: a lane sums
// 2 · run products of at most 255 · max|W| (see avx2_int8_run), so `run`
// groups add up in int16 before vpmaddwd widens them into the int32 sums.
// int16 layers use vpmaddwd directly (pairs of int16 products into int32).

#define WHITTLE_AVX2 __attribute__((target("avx2,fma")))

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

// Quantizes rows of `k` floats into rows of `k_padded` elements, in a buffer
// of the calling thread that stays valid until its next call.
template <typename Lanes>
const void* quantize_block(const float* input, int64_t rows, int64_t k, int64_t k_padded, QuantizeConstants constants,
                           KernelIsa isa) {
  thread_local std::vector<typename Lanes::Input> quantized;
  quantized.resize(static_cast<size_t>(rows * k_padded));
  if (isa == KernelIsa::avx512_vnni) {
    quantize_rows_vnni<Lanes>(input, rows, k, k_padded, constants, quantized.data());
  } else if (isa == KernelIsa::avx2) {
    quantize_rows_avx2<Lanes>(input, rows, k, k_padded, constants, quantized.data());
  } else {
    quantize_rows_scalar<Lanes>(input, rows, k, k_padded, constants, quantized.data());
  }
  return quantized.data();
}

template <typename Lanes>
void multiply_block(const GemmArguments& arguments, KernelIsa isa, int64_t avx2_run) {
  if (isa == KernelIsa::avx512_vnni) {
    gemm_rows_vnni<Lanes>(arguments);
  } else if (isa == KernelIsa::avx2) {
    gemm_rows_avx2<Lanes>(arguments, avx2_run);
  } else {
    gemm_rows_scalar<Lanes>(arguments);
  }
}

template <typename Lanes>
void pack_weight(const torch::Tensor& weight, int64_t k_padded, int64_t panels, std::vector<uint8_t>& packed,
                 std::vector<int32_t>& compensation) {
  const int64_t groups = k_padded / Lanes::group;
  std::vector<typename Lanes::Weight> elements(static_cast<size_t>(panels * groups * kPanelColumns * Lanes::group), 0);
  auto w = weight.accessor<int32_t, 2>();
  for (int64_t n = 0; n < weight.size(0); ++n) {
    const int64_t panel = n / kPanelColumns, column = n % kPanelColumns;
    int32_t sum = 0;
    for (int64_t k = 0; k < weight.size(1); ++k) {
      const int64_t at = ((panel * groups + k / Lanes::group) * kPanelColumns + column) * Lanes::group + k % Lanes::group;
      elements[static_cast<size_t>(at)] = static_cast<typename Lanes::Weight>(w[n][k]);
      sum += w[n][k];
    }
    compensation[static_cast<size_t>(n)] = Lanes::zero_point * sum;
  }
  packed.resize(elements.size() * sizeof(typename Lanes::Weight));
  std::memcpy(packed.data(), elements.data(), packed.size());
}

// Whether the integers fit the precision's elements and every partial sum
// stays inside int32.
bool exact_in(IntegerPrecision precision, const torch::Tensor& weight, const passes::FixedPointFormat& input_format) {
  if (weight.dim() != 2) return false;
  const int64_t bits = precision == IntegerPrecision::int8 ? 8 : 16;
  if (input_format.width > bits) return false;
  if (weight.numel() == 0) return true;
  const int64_t largest = int64_t{1} << (bits - 1);
  if (weight.min().item<int64_t>() < -largest || weight.max().item<int64_t>() >= largest) return false;
  if (precision == IntegerPrecision::int8) return weight.size(1) < 65536;  // 255 · 128 · K < 2^31
  // Every partial sum is bounded by the sum of the magnitudes of the products.
  const double largest_input = std::ldexp(1.0, static_cast<int>(input_format.width - 1));
  const double largest_row = weight.to(torch::kFloat64).abs().sum(1).max().item<double>();
  return largest_input * largest_row < std::ldexp(1.0, 31);
}

int64_t group_of(IntegerPrecision precision) {
  return precision == IntegerPrecision::int8 ? Int8Lanes::group : Int16Lanes::group;
}

// `input` [..., features] as contiguous float32.
torch::Tensor contiguous_input(const torch::Tensor& input, int64_t features) {
  if (input.dim() == 0 || input.size(-1) != features) {
    throw Error("integer linear: input has " + std::to_string(input.dim() == 0 ? 0 : input.size(-1)) +
                " features, expected " + std::to_string(features));
  }
  return input.to(torch::kFloat32).contiguous();
}

std::vector<int64_t> output_shape(const torch::Tensor& input, int64_t out_features) {
  std::vector<int64_t> shape = input.sizes().vec();
  shape.back() = out_features;
  return shape;
}

}  // namespace

std::string to_string(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::avx512_vnni: return "avx512-vnni";
    case KernelIsa::avx2: return "avx2";
    case KernelIsa::scalar: return "scalar";
  }
  return "unknown";
}

std::string to_string(IntegerPrecision precision) { return precision == IntegerPrecision::int8 ? "int8" : "int16"; }

bool cpu_supports(KernelIsa isa) {
  if (isa == KernelIsa::scalar) return true;
  __builtin_cpu_init();
  if (isa == KernelIsa::avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

KernelIsa best_kernel_isa() {
  for (KernelIsa isa : {KernelIsa::avx512_vnni, KernelIsa::avx2}) {
    if (cpu_supports(isa)) return isa;
  }
  return KernelIsa::scalar;
}

std::optional<IntegerPrecision> IntegerLinear::precision_for(const torch::Tensor& weight_integers,
                                                             const passes::FixedPointFormat& input_format,
                                                             const passes::FixedPointFormat& weight_format) {
  const int64_t exponent = -(input_format.frac_width + weight_format.frac_width);
  if (exponent < -100 || exponent > 100) return std::nullopt;
  for (IntegerPrecision precision : {IntegerPrecision::int8, IntegerPrecision::int16}) {
    const int64_t width = precision == IntegerPrecision::int8 ? 8 : 16;
    if (input_format.width <= width && weight_format.width <= width && exact_in(precision, weight_integers, input_format)) {
      return precision;
    }
  }
  return std::nullopt;
}

IntegerLinear::IntegerLinear(IntegerPrecision precision, const torch::Tensor& weight_integers, int64_t weight_frac_width,
                             passes::FixedPointFormat input_format, const torch::Tensor& bias, KernelIsa isa)
    : precision_(precision),
      in_features_(weight_integers.size(1)),
      out_features_(weight_integers.size(0)),
      group_(group_of(precision)),
      k_padded_((in_features_ + group_ - 1) / group_ * group_),
      panels_((out_features_ + kPanelColumns - 1) / kPanelColumns),
      input_format_(input_format),
      output_scale_(static_cast<float>(std::ldexp(1.0, static_cast<int>(-(input_format.frac_width + weight_frac_width))))),
      isa_(isa) {
  torch::Tensor weight = weight_integers.to(torch::kInt32).contiguous();
  const int64_t exponent = -(input_format.frac_width + weight_frac_width);
  if (!exact_in(precision, weight, input_format) || exponent < -100 || exponent > 100) {
    throw Error("the " + to_string(precision) + " kernel cannot compute this layer exactly");
  }
  if (!cpu_supports(isa)) throw Error("this CPU does not support " + to_string(isa));
  if (isa == KernelIsa::avx2 && precision == IntegerPrecision::int8) {
    avx2_run_ = avx2_int8_run(weight);
    // Weights past ±64 could saturate vpmaddubsw: this layer runs the exact scalar kernel.
    if (avx2_run_ == 0) isa_ = KernelIsa::scalar;
  }
  compensation_.assign(static_cast<size_t>(panels_ * kPanelColumns), 0);
  bias_.assign(static_cast<size_t>(panels_ * kPanelColumns), 0.0f);
  if (precision == IntegerPrecision::int8) {
    pack_weight<Int8Lanes>(weight, k_padded_, panels_, packed_weight_, compensation_);
  } else {
    pack_weight<Int16Lanes>(weight, k_padded_, panels_, packed_weight_, compensation_);
  }
  torch::Tensor b = bias.to(torch::kFloat32).contiguous();
  std::copy(b.data_ptr<float>(), b.data_ptr<float>() + out_features_, bias_.begin());
}

void IntegerLinear::scale_outputs(int exponent) {
  output_scale_ = std::ldexp(output_scale_, exponent);
  for (float& b : bias_) b = std::ldexp(b, exponent);
}

const void* IntegerLinear::quantize_rows(const float* input, int64_t rows) const {
  const QuantizeConstants constants = quantize_constants(input_format_);
  if (precision_ == IntegerPrecision::int8) {
    return quantize_block<Int8Lanes>(input, rows, in_features_, k_padded_, constants, isa_);
  }
  return quantize_block<Int16Lanes>(input, rows, in_features_, k_padded_, constants, isa_);
}

void IntegerLinear::multiply_rows(const void* quantized, int64_t rows, float* output) const {
  const GemmArguments arguments{quantized, rows, k_padded_, packed_weight_.data(), panels_, compensation_.data(),
                                bias_.data(), output_scale_, output, out_features_};
  if (precision_ == IntegerPrecision::int8) {
    multiply_block<Int8Lanes>(arguments, isa_, avx2_run_);
  } else {
    multiply_block<Int16Lanes>(arguments, isa_, avx2_run_);
  }
}

void IntegerLinear::compute_rows(const float* input, int64_t rows, float* output) const {
  multiply_rows(quantize_rows(input, rows), rows, output);
}

bool IntegerLinear::reads_input_as(const IntegerLinear& other) const {
  return precision_ == other.precision_ && in_features_ == other.in_features_ && input_format_ == other.input_format_;
}

torch::Tensor IntegerLinear::forward(const torch::Tensor& input) const { return forward_shared({this}, input).front(); }

std::vector<torch::Tensor> IntegerLinear::forward_shared(const std::vector<const IntegerLinear*>& layers,
                                                         const torch::Tensor& input) {
  if (layers.empty()) return {};
  const IntegerLinear& first = *layers.front();
  for (const IntegerLinear* layer : layers) {
    if (!layer->reads_input_as(first)) throw Error("shared integer input: the layers quantize their inputs differently");
  }
  torch::Tensor x = contiguous_input(input, first.in_features_);
  std::vector<torch::Tensor> outputs;
  for (const IntegerLinear* layer : layers) {
    outputs.push_back(torch::empty(output_shape(input, layer->out_features_), torch::kFloat32));
  }
  const int64_t rows = x.numel() / std::max<int64_t>(first.in_features_, 1);
  const float* source = x.data_ptr<float>();
  // Each task quantizes its own rows and multiplies them while they are hot.
  at::parallel_for(0, rows, kRowsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t start = begin; start < end; start += kRowsPerTask) {
      const int64_t count = std::min(end, start + kRowsPerTask) - start;
      const void* quantized = first.quantize_rows(source + start * first.in_features_, count);
      for (size_t i = 0; i < layers.size(); ++i) {
        float* target = outputs[i].data_ptr<float>() + start * layers[i]->out_features_;
        layers[i]->multiply_rows(quantized, count, target);
      }
    }
  });
  return outputs;
}

torch::Tensor IntegerLinear::forward_chain(const IntegerLinear& first,
                                           const std::function<void(torch::Tensor&)>& activation,
                                           const IntegerLinear& second, const torch::Tensor& input) {
  if (second.in_features_ != first.out_features_) throw Error("integer chain: the layers do not fit together");
  torch::Tensor x = contiguous_input(input, first.in_features_);
  torch::Tensor output = torch::empty(output_shape(input, second.out_features_), torch::kFloat32);
  const int64_t rows = x.numel() / std::max<int64_t>(first.in_features_, 1);
  const float* source = x.data_ptr<float>();
  float* target = output.data_ptr<float>();
  at::parallel_for(0, rows, kRowsPerTask, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> between;
    for (int64_t start = begin; start < end; start += kRowsPerTask) {
      const int64_t count = std::min(end, start + kRowsPerTask) - start;
      between.resize(static_cast<size_t>(count * first.out_features_));
      first.compute_rows(source + start * first.in_features_, count, between.data());
      torch::Tensor tile = torch::from_blob(between.data(), {count, first.out_features_}, torch::kFloat32);
      activation(tile);
      second.compute_rows(between.data(), count, target + start * second.out_features_);
    }
  });
  return output;
}

}  // namespace whittle::deploy
