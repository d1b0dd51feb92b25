#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "passes/quantize/fixed_point.h"

namespace whittle::deploy {

// The instructions the integer kernels run on, the best the CPU has picked at
// run time: avx512_vnni, else avx2 (int8 layers whose weights pass ±64 then
// run scalar, as vpmaddubsw could saturate), else scalar, the portable
// fallback (same layout, plain C++).
enum class KernelIsa { scalar, avx2, avx512_vnni };

std::string to_string(KernelIsa isa);
bool cpu_supports(KernelIsa isa);
KernelIsa best_kernel_isa();

// How the integers are multiplied:
//   int8   input and weight of at most 8 bits. The input is stored as X + 128
//          (unsigned bytes, as vpdpbusd wants them: 64 u8 x s8 products per
//          instruction, summed 4 at a time into 16 int32 lanes); 128 · sum_k W
//          is subtracted afterwards.
//   int16  at most 16 bits: X and W as int16 (vpdpwssd: 32 products per
//          instruction, summed in pairs).
enum class IntegerPrecision { int8, int16 };

std::string to_string(IntegerPrecision precision);

// A Linear whose input and weight are fixed-point numbers, computed in
// integers as
//   y = (X · W^T) · 2^-(fx + fw) + b
// where X = clamp(round_half_even(x · 2^fx)) are the input's integers (the
// ones the fixed-point quantizer produces) and W the weight's.
//
// Exactness. The int32 sums are exact: at 8 bits every partial sum of
// (X + 128) · W is at most 255 · 128 · K in magnitude (K < 65,793); at 16
// bits the constructor checks 2^(wx-1) · sum_k |W[n, k]| < 2^31 for every
// output n. When the true sum is below 2^24 (always at 8 bits with K <= 1024)
// its conversion to float is exact, and so is the product with the power of
// two, leaving one rounding, in the bias addition: the float simulation of
// the layer then gives the same float bit for bit, its own float32 sum being
// exact under the same bound. Above 2^24 the simulation's float32 sum rounds
// (in an order of its own) and the two may differ in the last bits.
class IntegerLinear {
 public:
  // weight_integers: int32 [out, in]; bias: float32 [out]. Throws
  // whittle::Error when `applies` says no.
  IntegerLinear(IntegerPrecision precision, const torch::Tensor& weight_integers, int64_t weight_frac_width,
                passes::FixedPointFormat input_format, const torch::Tensor& bias, KernelIsa isa);

  // The narrowest precision that holds the formats and keeps the sums exact
  // in int32 for these weights, and whose output scale 2^-(fx+fw) is a normal
  // float32; std::nullopt when none does (the layer then runs in float).
  static std::optional<IntegerPrecision> precision_for(const torch::Tensor& weight_integers,
                                                       const passes::FixedPointFormat& input_format,
                                                       const passes::FixedPointFormat& weight_format);

  // input [..., in] float32 → [..., out] float32.
  torch::Tensor forward(const torch::Tensor& input) const;

  // Each layer's forward(input), with the input quantized once for all of
  // them; every layer must read its input as the first does (reads_input_as).
  static std::vector<torch::Tensor> forward_shared(const std::vector<const IntegerLinear*>& layers,
                                                   const torch::Tensor& input);
  // Whether the two layers turn the same float input into the same integers.
  bool reads_input_as(const IntegerLinear& other) const;

  // second(activation(first(input))), a block of rows at a time, so that the
  // [rows, first.out_features] intermediate never leaves the cache.
  // `activation` works in place on a float32 [rows, first.out_features] tile;
  // an elementwise torch op gives exactly what it gives on the whole tensor.
  static torch::Tensor forward_chain(const IntegerLinear& first, const std::function<void(torch::Tensor&)>& activation,
                                     const IntegerLinear& second, const torch::Tensor& input);

  // Multiplies every output by 2^exponent, folded into the output scale and
  // the bias: fma(sum, s · 2^e, b · 2^e) is fma(sum, s, b) · 2^e exactly, as
  // long as nothing leaves float32's normal range, so a following multiply
  // by that power of two (attention's 1/sqrt(64)) can be dropped.
  void scale_outputs(int exponent);

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  IntegerPrecision precision() const { return precision_; }
  // The instructions this layer runs on: the requested ones, or scalar where
  // those cannot compute it exactly.
  KernelIsa isa() const { return isa_; }

 private:
  // Quantizes `rows` contiguous input rows and multiplies them into `output`.
  void compute_rows(const float* input, int64_t rows, float* output) const;
  // The two halves of compute_rows. The quantized rows live in a buffer of
  // the calling thread, valid until its next quantize_rows.
  const void* quantize_rows(const float* input, int64_t rows) const;
  void multiply_rows(const void* quantized, int64_t rows, float* output) const;

  IntegerPrecision precision_;
  int64_t in_features_;
  int64_t out_features_;
  int64_t group_;      // input elements summed per int32 lane: 4 (int8) or 2 (int16)
  int64_t k_padded_;   // in_features rounded up to the group
  int64_t panels_;     // groups of 64 output columns
  // [panels][k_padded / group][64][group] int8 or int16, as bytes.
  std::vector<uint8_t> packed_weight_;
  std::vector<int32_t> compensation_;  // int8: 128 · sum_k W[n, k]; [panels · 64]
  std::vector<float> bias_;            // [panels · 64], zero past out_features
  passes::FixedPointFormat input_format_;
  float output_scale_;
  KernelIsa isa_;
  int64_t avx2_run_ = 0;  // avx2 int8: groups summed in int16 lanes before widening
};

}  // namespace whittle::deploy
