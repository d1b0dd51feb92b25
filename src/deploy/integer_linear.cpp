#include "deploy/integer_linear.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "util/enum_names.h"
#include "deploy/kernels/avx2_kernels.h"
#include "deploy/kernels/kernel_types.h"
#include "deploy/kernels/scalar_kernels.h"
#include "deploy/kernels/vnni_kernels.h"
#include "util/error.h"

// The kernels, one file per instruction set, live in deploy/kernels/; this
// file picks one per layer, packs the weights and runs the rows in parallel.

namespace whittle::deploy {
namespace {

using kernels::avx2_int8_run;
using kernels::gemm_rows_avx2;
using kernels::gemm_rows_scalar;
using kernels::gemm_rows_vnni;
using kernels::GemmArguments;
using kernels::Int16Lanes;
using kernels::Int8Lanes;
using kernels::kPanelColumns;
using kernels::kTileRows;
using kernels::quantize_rows_avx2;
using kernels::quantize_rows_scalar;
using kernels::quantize_rows_vnni;
using kernels::QuantizeConstants;

constexpr int64_t kRowsPerTask = 16 * kTileRows;

constexpr EnumName<KernelIsa> kKernelIsaNames[] = {
    {KernelIsa::avx512_vnni, "avx512-vnni"}, {KernelIsa::avx2, "avx2"}, {KernelIsa::scalar, "scalar"}};

QuantizeConstants quantize_constants(const passes::FixedPointFormat& format) {
  return {static_cast<float>(std::ldexp(1.0, static_cast<int>(format.frac_width))),
          static_cast<float>(-(int64_t{1} << (format.width - 1))),
          static_cast<float>((int64_t{1} << (format.width - 1)) - 1)};
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

std::string to_string(KernelIsa isa) { return name_of(kKernelIsaNames, isa, "unknown"); }

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
