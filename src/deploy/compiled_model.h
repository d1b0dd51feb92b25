#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/bert_config.h"
#include "passes/prune/prune_config.h"
#include "passes/quantize/quantize_config.h"
#include "text/tokenizer.h"
#include "text/tokenizer_files.h"

namespace whittle::deploy {

// What a tensor of a compiled model holds, independent of how the file
// packs it:
//   fixed_point      int32 integers n standing for n * 2^-frac_width (the
//                    quantized weights and biases of Linears)
//   float32/float16  plain floats
//   row_scaled_int8  int8 integers n_ij standing for n_ij * scale_i, one
//                    float32 scale per row (compact embedding tables)
enum class TensorKind { fixed_point, float32, float16, row_scaled_int8 };

std::string to_string(TensorKind kind);
TensorKind parse_tensor_kind(const std::string& name, const std::string& origin);

struct StoredTensor {
  TensorKind kind = TensorKind::float32;
  torch::Tensor values;                 // int32, float32, float16 or int8, in the tensor's shape
  torch::Tensor row_scales;             // row_scaled_int8: float32 [rows]
  passes::FixedPointFormat format;      // fixed_point: width and frac width

  static StoredTensor fixed_point(torch::Tensor integers, passes::FixedPointFormat format);
  static StoredTensor float32(torch::Tensor values);
  static StoredTensor float16(const torch::Tensor& values);
  // n_ij = round(x_ij / scale_i) with scale_i = max_j |x_ij| / 127 (1 for an all-zero row).
  static StoredTensor row_scaled_int8(const torch::Tensor& values);

  // The float32 values the tensor stands for. Exact for fixed_point (as long
  // as the integers fit float32's 24-bit mantissa, which the fixed-point
  // quantizer's float32 results always do), float32 and float16.
  torch::Tensor to_float() const;
};

// Fixed-point integers of `format` for float values that are already on its
// grid (the result of passes::fixed_point_quantize). Throws whittle::Error
// when a value is not, so a compiled model never silently changes a weight.
// The float32 quantizer clamps w = 32 to 2^31 (2^31 - 1 rounds up in float32);
// that one value is stored as 2^31 - 1, which converts back to the same float.
torch::Tensor fixed_point_integers(const torch::Tensor& quantized, const passes::FixedPointFormat& format,
                                   const std::string& what);

// Activation pruning of a Linear's input, as the prune transform applies it.
struct ActivationPruning {
  passes::PruneSettings settings;
  uint64_t seed = 0;                 // random masks: the transform's generator seed
  std::optional<float> threshold;    // global l1: the calibrated threshold
};

// How one Linear computes, beyond its weight and bias tensors.
struct LinearRecord {
  std::optional<passes::IntegerQuantization> quantization;  // std::nullopt: float
  std::optional<ActivationPruning> activation_pruning;
};

// A classifier ready for deployment: BERT's config, the tokenizer, every
// tensor under its Hugging Face name ("bert.encoder.layer.0.attention.self.query.weight"),
// and per Linear (by module path) its quantization and activation pruning.
struct CompiledModel {
  model::BertConfig config;
  text::TokenizerFiles tokenizer;
  bool cls_only_last_layer = true;
  std::map<std::string, StoredTensor> tensors;
  std::map<std::string, LinearRecord> linears;
  nlohmann::json source = nlohmann::json::object();  // where it came from, for people reading the file

  // Throws whittle::Error naming `origin` when a tensor the model needs is
  // missing or has the wrong shape or kind, or a fixed-point integer is
  // outside its width.
  void validate(const std::string& origin) const;
  const StoredTensor& tensor(const std::string& name) const;
};

// The tokenizer the model was compiled with. Throws whittle::Error when its
// options (accent stripping other than the default, a different word-length
// cap) are ones Tokenizer::from_vocab cannot rebuild.
text::Tokenizer make_tokenizer(const text::TokenizerFiles& files);

// The Hugging Face names of the Linears of a BERT classifier with this
// config, in module order ("bert.encoder.layer.0.attention.self.query", ...,
// "bert.pooler.dense", "classifier").
std::vector<std::string> linear_names(const model::BertConfig& config);

}  // namespace whittle::deploy
