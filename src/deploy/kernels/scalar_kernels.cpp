#include "deploy/kernels/scalar_kernels.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace whittle::deploy::kernels {

template <typename Lanes>
void quantize_rows_scalar(const float* x, int64_t rows, int64_t k, int64_t k_padded, QuantizeConstants c,
                          typename Lanes::Input* out) {
  // No instructions of its own: quantize_element does every element.
  const auto row_start = [](const float*, int64_t, QuantizeConstants, typename Lanes::Input*) { return int64_t{0}; };
  quantize_rows_with<Lanes>(row_start, x, rows, k, k_padded, c, out);
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

WHITTLE_INSTANTIATE_QUANTIZE_ROWS(quantize_rows_scalar);
template void gemm_rows_scalar<Int8Lanes>(const GemmArguments&);
template void gemm_rows_scalar<Int16Lanes>(const GemmArguments&);

}  // namespace whittle::deploy::kernels
