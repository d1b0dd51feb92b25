#pragma once
// The AVX-512 VNNI kernels: vpdpbusd (int8) and vpdpwssd (int16) sum 4 or 2
// products into each int32 lane. Call them only where
// cpu_supports(KernelIsa::avx512_vnni).
#include <cstdint>

#include "deploy/kernels/kernel_types.h"

namespace whittle::deploy::kernels {

inline constexpr int64_t kTileRows = 6;  // 6 rows x 4 registers = 24 accumulators

// As quantize_rows_scalar, 16 lanes at a time. Instantiated for Int8Lanes
// and Int16Lanes.
template <typename Lanes>
WHITTLE_VNNI void quantize_rows_vnni(const float* x, int64_t rows, int64_t k, int64_t k_padded, QuantizeConstants c,
                                     typename Lanes::Input* out);

// As gemm_rows_scalar, in tiles of kTileRows rows x 64 columns.
template <typename Lanes>
WHITTLE_VNNI void gemm_rows_vnni(const GemmArguments& a);

}  // namespace whittle::deploy::kernels
