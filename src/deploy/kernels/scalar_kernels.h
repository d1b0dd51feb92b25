#pragma once
// The portable fallback kernels: the same layout and results as the SIMD
// ones, in plain C++.
#include <cstdint>

#include "deploy/kernels/kernel_types.h"

namespace whittle::deploy::kernels {

// Quantizes rows of `k` floats into rows of `k_padded` elements (the padding
// holds the zero point). Instantiated for Int8Lanes and Int16Lanes.
template <typename Lanes>
void quantize_rows_scalar(const float* x, int64_t rows, int64_t k, int64_t k_padded, QuantizeConstants c,
                          typename Lanes::Input* out);

// y = (X · W^T - compensation) · scale + bias for the rows of `a`.
template <typename Lanes>
void gemm_rows_scalar(const GemmArguments& a);

}  // namespace whittle::deploy::kernels
