#pragma once
// The AVX2 kernels: vpmaddubsw (int8, summed in int16 lanes for a run of
// groups, see avx2_int8_run) and vpmaddwd (int16). Call them only where
// cpu_supports(KernelIsa::avx2).
#include <cstdint>

#include <torch/torch.h>

#include "deploy/kernels/kernel_types.h"

#define WHITTLE_AVX2 __attribute__((target("avx2,fma")))

namespace whittle::deploy::kernels {

// As quantize_rows_scalar, 8 lanes at a time. Instantiated for Int8Lanes
// and Int16Lanes.
template <typename Lanes>
WHITTLE_AVX2 void quantize_rows_avx2(const float* x, int64_t rows, int64_t k, int64_t k_padded, QuantizeConstants c,
                                     typename Lanes::Input* out);

// As gemm_rows_scalar, in tiles of rows x 16 columns. `run`: for int8, the
// groups summed in int16 lanes before widening (avx2_int8_run of the
// weights, at least 1); unused for int16.
template <typename Lanes>
void gemm_rows_avx2(const GemmArguments& a, int64_t run);

// weight: the int32 [out, in] weight integers. 0 when the int8 AVX2 kernel
// cannot compute them exactly.
int64_t avx2_int8_run(const torch::Tensor& weight);

}  // namespace whittle::deploy::kernels
