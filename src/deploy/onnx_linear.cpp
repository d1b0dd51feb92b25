#include "deploy/onnx_linear.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <optional>

#include "deploy/compiled_model.h"
#include "passes/lora/lora_transform.h"
#include "passes/prune/prune_transform.h"
#include "passes/quantize/quantize_transform.h"
#include "util/error.h"

namespace whittle::deploy::onnx_graph {
namespace {

// Scales of 2^k as float32, as passes/quantize/fixed_point.cpp makes them
// (ldexp in double, then converted): frac widths reach ±127, so 2^-127 is
// subnormal but exact.
float power_of_two(int64_t exponent) { return static_cast<float>(std::ldexp(1.0, static_cast<int>(exponent))); }

int64_t lowest_integer(int64_t width) { return -(int64_t{1} << (width - 1)); }
int64_t highest_integer(int64_t width) { return (int64_t{1} << (width - 1)) - 1; }

// int8 is the one integer type that QuantizeLinear-13 offers for signed
// values; int16 arrives in opset 21, past libonnx 1.12's checker.
bool fits_int8(const passes::FixedPointFormat& format) { return format.width <= 8; }

std::string format_text(const passes::FixedPointFormat& format) {
  return std::to_string(format.width) + " bits, " + std::to_string(format.frac_width) + " fractional";
}

std::string hex_bits(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%llx", static_cast<unsigned long long>(std::bit_cast<uint64_t>(value)));
  return buffer;
}

onnx::AttributeProto cast_to(int32_t type) { return int_attribute("to", type); }

// q(x) = clamp(round_half_even(x * 2^f), lo, hi) * 2^-f. With QuantizeLinear
// round(x / 2^-f) is the same rounding of the same exact product (a power of
// two scales exactly), and saturation to int8 is the clamp at 8 bits; below
// 8 an int8 Clip narrows it to [-2^(w-1), 2^(w-1) - 1]. Wider formats take the
// float kernel's own steps, with its float32 bounds (2^(w-1) - 1 rounds up
// to 2^(w-1) from w = 25 on, in whittle as here).
std::string quantize_input(GraphBuilder& graph, const std::string& input, const passes::FixedPointFormat& format,
                           const std::string& stem) {
  const std::string key = "fixed_point " + input + " " + std::to_string(format.width) + " " +
                          std::to_string(format.frac_width);
  if (auto known = graph.recall(key)) return *known;
  std::string result;
  if (fits_int8(format)) {
    const std::string scale = graph.float_scalar(power_of_two(-format.frac_width));
    const std::string zero = graph.int8_scalar(0);
    std::string integers = graph.node("QuantizeLinear", {input, scale, zero}, stem + "/int8");
    if (format.width < 8) {
      const auto lowest = static_cast<int8_t>(lowest_integer(format.width));
      const auto highest = static_cast<int8_t>(highest_integer(format.width));
      integers = graph.node("Clip", {integers, graph.int8_scalar(lowest), graph.int8_scalar(highest)},
                            stem + "/int" + std::to_string(format.width));
    }
    result = graph.node("DequantizeLinear", {integers, scale, zero}, stem + "/quantized");
  } else {
    const float lowest = static_cast<float>(lowest_integer(format.width));
    const float highest = static_cast<float>(highest_integer(format.width));
    std::string scaled = graph.node("Mul", {input, graph.float_scalar(power_of_two(format.frac_width))}, stem + "/scaled");
    std::string rounded = graph.node("Round", {scaled}, stem + "/rounded");
    std::string clipped =
        graph.node("Clip", {rounded, graph.float_scalar(lowest), graph.float_scalar(highest)}, stem + "/clipped");
    result = graph.node("Mul", {clipped, graph.float_scalar(power_of_two(-format.frac_width))}, stem + "/quantized");
  }
  graph.remember(key, result);
  return result;
}

// x * (|x| > threshold): a multiplication by 0/1 rather than Where, so that
// -x * 0 stays -0 and NaN stays NaN, as in passes::mask_by_magnitude.
std::string mask_by_threshold(GraphBuilder& graph, const std::string& input, const std::string& magnitudes,
                              const std::string& threshold, const std::string& stem) {
  std::string keep = graph.node("Greater", {magnitudes, threshold}, stem + "/keep");
  std::string keep_float = graph.node("Cast", {keep}, stem + "/keep_float", {cast_to(onnx::TensorProto::FLOAT)});
  return graph.node("Mul", {input, keep_float}, stem + "/masked");
}

struct InterpolationPoint {
  std::string below, above;  // int64 scalars: ranks into the ascending magnitudes
  std::string weight;        // float32 scalar
};

// magnitude_quantile's ranks: r = q * (n - 1) in float32 as torch.quantile
// takes it, while n - 1 <= 2^24; in double past that. below = floor(r) (r is
// never negative, so this is the truncation whittle does), above = ceil(r),
// weight = r - below. Both are built and Where picks, since n is only known
// at run time.
InterpolationPoint interpolation_point(GraphBuilder& graph, const std::string& input, double q, const std::string& stem) {
  const std::string last = graph.node("Sub", {graph.node("Size", {input}, stem + "/count"), graph.int64_scalar(1)},
                                      stem + "/last_rank");

  const std::string last_float = graph.node("Cast", {last}, stem + "/last_rank_f32", {cast_to(onnx::TensorProto::FLOAT)});
  const std::string rank_float =
      graph.node("Mul", {graph.float_scalar(static_cast<float>(q)), last_float}, stem + "/rank_f32");
  const std::string floor_float = graph.node("Floor", {rank_float}, stem + "/floor_f32");
  const std::string below_float = graph.node("Cast", {floor_float}, stem + "/below_f32", {cast_to(onnx::TensorProto::INT64)});
  const std::string above_float = graph.node("Cast", {graph.node("Ceil", {rank_float}, stem + "/ceil_f32")},
                                             stem + "/above_f32", {cast_to(onnx::TensorProto::INT64)});
  const std::string weight_float = graph.node("Sub", {rank_float, floor_float}, stem + "/weight_f32");

  const std::string last_double = graph.node("Cast", {last}, stem + "/last_rank_f64", {cast_to(onnx::TensorProto::DOUBLE)});
  const std::string rank_double = graph.node("Mul", {graph.double_scalar(q), last_double}, stem + "/rank_f64");
  const std::string floor_double = graph.node("Floor", {rank_double}, stem + "/floor_f64");
  const std::string below_double = graph.node("Cast", {floor_double}, stem + "/below_f64", {cast_to(onnx::TensorProto::INT64)});
  const std::string ceil_double = graph.node("Cast", {graph.node("Ceil", {rank_double}, stem + "/ceil_f64")},
                                             stem + "/ceil_f64_int", {cast_to(onnx::TensorProto::INT64)});
  const std::string above_double = graph.node("Min", {ceil_double, last}, stem + "/above_f64");
  const std::string weight_double = graph.node("Cast", {graph.node("Sub", {rank_double, floor_double}, stem + "/fraction_f64")},
                                               stem + "/weight_f64", {cast_to(onnx::TensorProto::FLOAT)});

  const std::string float_ranks =
      graph.node("Less", {last, graph.int64_scalar((int64_t{1} << 24) + 1)}, stem + "/float32_ranks");
  return {graph.node("Where", {float_ranks, below_float, below_double}, stem + "/below"),
          graph.node("Where", {float_ranks, above_float, above_double}, stem + "/above"),
          graph.node("Where", {float_ranks, weight_float, weight_double}, stem + "/weight")};
}

// Local l1: keep |x| > quantile(|x|, q) over the whole input tensor. ONNX has
// no sort, so TopK (ascending, sorted) takes the above + 1 smallest
// magnitudes, and the two order statistics are read from it. The threshold
// is torch.lerp's: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w).
std::string local_l1_mask(GraphBuilder& graph, const std::string& input, double sparsity, const std::string& stem) {
  const std::string key = "l1_local " + input + " " + hex_bits(sparsity);
  if (auto known = graph.recall(key)) return *known;
  const std::string magnitudes = graph.node("Abs", {input}, stem + "/magnitudes");
  const std::string flat = graph.node("Reshape", {magnitudes, graph.int64_vector({-1})}, stem + "/flat");
  const InterpolationPoint point = interpolation_point(graph, input, sparsity, stem);
  const std::string count = graph.node("Add", {point.above, graph.int64_scalar(1)}, stem + "/k");
  const std::string k = graph.node("Reshape", {count, graph.int64_vector({1})}, stem + "/k_1d");
  const std::vector<std::string> smallest = graph.node_with_outputs(
      "TopK", {flat, k}, 2, stem + "/smallest",
      {int_attribute("axis", 0), int_attribute("largest", 0), int_attribute("sorted", 1)});
  const std::string low = graph.node("Gather", {smallest[0], point.below}, stem + "/low", {int_attribute("axis", 0)});
  const std::string high = graph.node("Gather", {smallest[0], point.above}, stem + "/high", {int_attribute("axis", 0)});
  const std::string gap = graph.node("Sub", {high, low}, stem + "/gap");
  const std::string from_low =
      graph.node("Add", {low, graph.node("Mul", {point.weight, gap}, stem + "/up")}, stem + "/from_low");
  const std::string rest = graph.node("Sub", {graph.float_scalar(1.0f), point.weight}, stem + "/rest");
  const std::string from_high =
      graph.node("Sub", {high, graph.node("Mul", {gap, rest}, stem + "/down")}, stem + "/from_high");
  const std::string small_weight = graph.node("Less", {point.weight, graph.float_scalar(0.5f)}, stem + "/small_weight");
  const std::string threshold = graph.node("Where", {small_weight, from_low, from_high}, stem + "/threshold");
  std::string masked = mask_by_threshold(graph, input, magnitudes, threshold, stem);
  graph.remember(key, masked);
  return masked;
}

std::string global_l1_mask(GraphBuilder& graph, const std::string& input, float threshold, const std::string& stem) {
  const std::string key = "l1_global " + input + " " + std::to_string(std::bit_cast<uint32_t>(threshold));
  if (auto known = graph.recall(key)) return *known;
  const std::string magnitudes = graph.node("Abs", {input}, stem + "/magnitudes");
  std::string masked = mask_by_threshold(graph, input, magnitudes, graph.float_scalar(threshold), stem);
  graph.remember(key, masked);
  return masked;
}

// Random at sparsity 0 keeps everything, and the transform skips it too.
bool masks_randomly(const passes::PruneTransformImpl& prune) {
  const auto& activation = prune.activation_settings();
  return activation && activation->method == passes::PruneMethod::random && activation->sparsity != 0.0;
}

float calibrated_threshold(const passes::PruneTransformImpl& prune, const std::string& name) {
  for (const auto& buffer : prune.named_buffers(/*recurse=*/false)) {
    if (buffer.key() == "activation_threshold") return buffer.value().item<float>();
  }
  throw Error("cannot export " + name + " to ONNX: its global l1-norm activation pruning has no calibrated threshold");
}

std::string prune_input(GraphBuilder& graph, const std::string& input, const passes::PruneTransformImpl& prune,
                        const std::string& name, OnnxLinearSummary& summary) {
  const auto& activation = prune.activation_settings();
  if (!activation || activation->method == passes::PruneMethod::random) return input;  // random: sparsity 0 here
  const std::string stem = name + ".input_mask";
  const std::string sparsity = std::to_string(activation->sparsity);
  if (activation->scope == passes::PruneScope::global) {
    const float threshold = calibrated_threshold(prune, name);
    summary.input_mask = "l1-norm global, sparsity " + sparsity + " (|x| > " + std::to_string(threshold) + ")";
    return global_l1_mask(graph, input, threshold, stem);
  }
  summary.input_mask = "l1-norm local, sparsity " + sparsity + " (TopK quantile of the whole input)";
  return local_l1_mask(graph, input, activation->sparsity, stem);
}

// A parameter already on its fixed-point grid (effective_weight/bias ran the
// quantizer): as int8 + DequantizeLinear when it fits, which gives back the
// same floats (n * 2^-f is exact), else as those floats.
std::string emit_parameter(GraphBuilder& graph, const torch::Tensor& values,
                           const std::optional<passes::FixedPointFormat>& format, const std::string& name,
                           const OnnxExportOptions& options, std::string& storage) {
  if (format && fits_int8(*format) && options.int8_parameters) {
    torch::Tensor integers = fixed_point_integers(values, *format, name).to(torch::kInt8);
    const std::string stored = graph.initializer(name + ".int8", integers);
    storage = "int8 + DequantizeLinear (" + format_text(*format) + ")";
    return graph.node("DequantizeLinear",
                      {stored, graph.float_scalar(power_of_two(-format->frac_width)), graph.int8_scalar(0)}, name);
  }
  storage = format ? "float32 on the fixed-point grid (" + format_text(*format) + ")" : "float32";
  return graph.initializer(name, values.to(torch::kFloat32));
}

}  // namespace

void check_linear_exportable(const model::LinearImpl& linear, const std::string& name) {
  for (const auto& transform : linear.transforms()) {
    if (std::dynamic_pointer_cast<passes::QuantizeTransformImpl>(transform)) continue;
    if (auto prune = std::dynamic_pointer_cast<passes::PruneTransformImpl>(transform)) {
      if (!masks_randomly(*prune)) continue;
      throw Error("cannot export " + name + " to ONNX: its input is pruned by random masks (sparsity " +
                  std::to_string(prune->activation_settings()->sparsity) +
                  "), drawn anew on every forward pass from whittle's own hash stream, which no ONNX operator "
                  "reproduces; prune activations by l1-norm, or not at all, to export");
    }
    if (transform->kind() == passes::LoraTransformImpl::kKind) {
      throw Error("cannot export " + name + " to ONNX: it has an unfused LoRA adapter; fuse it into the weights first");
    }
    throw Error("cannot export " + name + " to ONNX: the export does not know '" + transform->kind() + "' transforms");
  }
}

std::string emit_linear(GraphBuilder& graph, model::LinearImpl& linear, const std::string& name,
                        const std::string& input, const std::string& output_stem, const OnnxExportOptions& options,
                        OnnxLinearSummary& summary) {
  check_linear_exportable(linear, name);
  summary.name = name;
  std::string x = input;
  // The last quantizer decides the grid the effective parameters are on.
  std::optional<passes::IntegerQuantization> quantization;
  for (const auto& transform : linear.transforms()) {
    if (auto quantize = std::dynamic_pointer_cast<passes::QuantizeTransformImpl>(transform)) {
      quantization = quantize->quantization();
      const passes::FixedPointFormat& format = quantization->data_in;
      x = quantize_input(graph, x, format, name + ".input");
      summary.input = (fits_int8(format) ? "int8 QuantizeLinear/DequantizeLinear (" : "Mul/Round/Clip/Mul (") +
                      format_text(format) + ")";
    } else if (auto prune = std::dynamic_pointer_cast<passes::PruneTransformImpl>(transform)) {
      x = prune_input(graph, x, *prune, name, summary);
    }
  }
  torch::NoGradGuard no_grad;
  std::optional<passes::FixedPointFormat> weight_format, bias_format;
  if (quantization) weight_format = quantization->weight, bias_format = quantization->bias;
  // Stored [in, out], so that MatMul(x [.., in], W^T) needs no Transpose node.
  const std::string weight = emit_parameter(graph, linear.effective_weight().t(), weight_format,
                                            name + ".weight.transposed", options, summary.weight);
  const std::string bias = emit_parameter(graph, linear.effective_bias(), bias_format, name + ".bias", options, summary.bias);
  const std::string product = graph.node("MatMul", {x, weight}, name + "/matmul");
  return graph.node("Add", {product, bias}, output_stem);
}

}  // namespace whittle::deploy::onnx_graph
