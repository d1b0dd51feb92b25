#include "deploy/compiled_model.h"

#include <cmath>
#include <set>

#include "util/enum_names.h"
#include "util/error.h"

namespace whittle::deploy {
namespace {

constexpr EnumName<TensorKind> kTensorKindNames[] = {{TensorKind::fixed_point, "fixed_point"},
                                                     {TensorKind::float32, "float32"},
                                                     {TensorKind::float16, "float16"},
                                                     {TensorKind::row_scaled_int8, "row_scaled_int8"}};

std::string shape_string(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// The integers the float32 quantizer can produce for a width: its upper clamp
// 2^(w-1) - 1 becomes 2^(w-1) in float32 from w = 26 on, and 2^31 is stored
// as 2^31 - 1 (see fixed_point_integers).
std::pair<int64_t, int64_t> integer_range(int64_t width) {
  int64_t lowest = -(int64_t{1} << (width - 1));
  auto highest = static_cast<int64_t>(static_cast<float>((int64_t{1} << (width - 1)) - 1));
  return {lowest, std::min<int64_t>(highest, INT32_MAX)};
}

struct ExpectedTensor {
  std::vector<int64_t> shape;
  std::optional<passes::FixedPointFormat> fixed_point;  // else a float kind
};

void add_linear(std::map<std::string, ExpectedTensor>& expected, const std::string& name, int64_t in, int64_t out,
                const std::optional<passes::IntegerQuantization>& quantization) {
  std::optional<passes::FixedPointFormat> weight, bias;
  if (quantization) weight = quantization->weight, bias = quantization->bias;
  expected[name + ".weight"] = {{out, in}, weight};
  expected[name + ".bias"] = {{out}, bias};
}

void add_layer_norm(std::map<std::string, ExpectedTensor>& expected, const std::string& name, int64_t hidden) {
  expected[name + ".weight"] = {{hidden}, std::nullopt};
  expected[name + ".bias"] = {{hidden}, std::nullopt};
}

std::pair<int64_t, int64_t> linear_shape(const model::BertConfig& config, const std::string& name) {
  const int64_t hidden = config.hidden_size;
  if (name.ends_with("intermediate.dense")) return {hidden, config.intermediate_size};
  if (name.ends_with(".output.dense") && !name.ends_with("attention.output.dense")) return {config.intermediate_size, hidden};
  if (name == "classifier") return {hidden, config.num_labels};
  return {hidden, hidden};
}

void check_integers(const StoredTensor& tensor, const std::string& where) {
  if (tensor.values.scalar_type() != torch::kInt32) throw Error(where + ": fixed-point integers must be int32");
  auto [lowest, highest] = integer_range(tensor.format.width);
  if (tensor.values.numel() == 0) return;
  int64_t min = tensor.values.min().item<int64_t>();
  int64_t max = tensor.values.max().item<int64_t>();
  if (min < lowest || max > highest) {
    throw Error(where + ": integers from " + std::to_string(min) + " to " + std::to_string(max) + " do not fit " +
                std::to_string(tensor.format.width) + " bits");
  }
}

void check_kind(const StoredTensor& tensor, const ExpectedTensor& expected, const std::string& where) {
  if (expected.fixed_point) {
    if (tensor.kind != TensorKind::fixed_point || !(tensor.format == *expected.fixed_point)) {
      throw Error(where + ": expected fixed-point integers of width " + std::to_string(expected.fixed_point->width) +
                  ", frac width " + std::to_string(expected.fixed_point->frac_width));
    }
    check_integers(tensor, where);
    return;
  }
  if (tensor.kind == TensorKind::fixed_point) throw Error(where + ": a float tensor is stored as fixed point");
  if (tensor.kind == TensorKind::row_scaled_int8 &&
      (tensor.values.dim() != 2 || !tensor.row_scales.defined() || tensor.row_scales.numel() != tensor.values.size(0))) {
    throw Error(where + ": row-scaled tensor without one scale per row");
  }
  // A checksum proves the bytes are the ones written, not that they make
  // sense: NaN or infinite weights and scales would give nonsense logits.
  if (tensor.values.is_floating_point() && !torch::isfinite(tensor.values).all().item<bool>()) {
    throw Error(where + " holds NaN or infinite values");
  }
  if (tensor.row_scales.defined() && !(torch::isfinite(tensor.row_scales).all().item<bool>() &&
                                       (tensor.row_scales > 0).all().item<bool>())) {
    throw Error(where + ": row scales must be finite and positive");
  }
}

}  // namespace

std::string to_string(TensorKind kind) { return name_of(kTensorKindNames, kind, "?"); }

TensorKind parse_tensor_kind(const std::string& name, const std::string& origin) {
  return parse_name(kTensorKindNames, name, origin, "tensor kind");
}

StoredTensor StoredTensor::fixed_point(torch::Tensor integers, passes::FixedPointFormat format) {
  StoredTensor tensor;
  tensor.kind = TensorKind::fixed_point;
  tensor.values = integers.to(torch::kInt32).contiguous();
  tensor.format = format;
  return tensor;
}

StoredTensor StoredTensor::float32(torch::Tensor values) {
  StoredTensor tensor;
  tensor.kind = TensorKind::float32;
  tensor.values = values.detach().to(torch::kFloat32).contiguous();
  return tensor;
}

StoredTensor StoredTensor::float16(const torch::Tensor& values) {
  StoredTensor tensor;
  tensor.kind = TensorKind::float16;
  tensor.values = values.detach().to(torch::kFloat16).contiguous();
  return tensor;
}

StoredTensor StoredTensor::row_scaled_int8(const torch::Tensor& values) {
  if (values.dim() != 2) throw Error("row-scaled int8 needs a matrix, got shape " + shape_string(values.sizes()));
  torch::Tensor x = values.detach().to(torch::kFloat32);
  torch::Tensor scales = std::get<0>(x.abs().max(1)) / 127.0f;
  scales = torch::where(scales > 0, scales, torch::ones_like(scales));
  StoredTensor tensor;
  tensor.kind = TensorKind::row_scaled_int8;
  tensor.values = torch::round(x / scales.unsqueeze(1)).clamp(-127, 127).to(torch::kInt8).contiguous();
  tensor.row_scales = scales.contiguous();
  return tensor;
}

torch::Tensor StoredTensor::to_float() const {
  switch (kind) {
    case TensorKind::fixed_point:
      return (values.to(torch::kFloat64) * std::ldexp(1.0, static_cast<int>(-format.frac_width))).to(torch::kFloat32);
    case TensorKind::float32: return values;
    case TensorKind::float16: return values.to(torch::kFloat32);
    case TensorKind::row_scaled_int8: return values.to(torch::kFloat32) * row_scales.unsqueeze(1);
  }
  return values;
}

torch::Tensor fixed_point_integers(const torch::Tensor& quantized, const passes::FixedPointFormat& format,
                                   const std::string& what) {
  torch::Tensor scaled = quantized.detach().to(torch::kFloat64) * std::ldexp(1.0, static_cast<int>(format.frac_width));
  auto [lowest, highest] = integer_range(format.width);
  const double float_highest = std::min(static_cast<double>(static_cast<float>((int64_t{1} << (format.width - 1)) - 1)),
                                        std::ldexp(1.0, 31));
  if (scaled.numel() > 0) {
    bool on_grid = torch::equal(scaled, torch::round(scaled));
    bool in_range = scaled.min().item<double>() >= static_cast<double>(lowest) &&
                    scaled.max().item<double>() <= float_highest;
    if (!on_grid || !in_range) {
      throw Error(what + " is not on the grid of " + std::to_string(format.width) + "-bit fixed point with " +
                  std::to_string(format.frac_width) + " fractional bits");
    }
  }
  return scaled.clamp_max(static_cast<double>(highest)).to(torch::kInt32).contiguous();
}

const StoredTensor& CompiledModel::tensor(const std::string& name) const {
  auto found = tensors.find(name);
  if (found == tensors.end()) throw Error("the compiled model has no tensor " + name);
  return found->second;
}

text::Tokenizer make_tokenizer(const text::TokenizerFiles& files) {
  const text::TokenizerOptions defaults;
  if (files.options.strips_accents() != files.options.lower_case ||
      files.options.max_chars_per_word != defaults.max_chars_per_word) {
    throw Error("the model's tokenizer options (strip_accents, max_chars_per_word) cannot be rebuilt; use --tokenizer");
  }
  return text::Tokenizer::from_vocab(files.tokens, files.options.lower_case);
}

std::vector<std::string> linear_names(const model::BertConfig& config) {
  std::vector<std::string> names;
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    std::string layer = "bert.encoder.layer." + std::to_string(i) + ".";
    for (const char* part : {"attention.self.query", "attention.self.key", "attention.self.value",
                             "attention.output.dense", "intermediate.dense", "output.dense"}) {
      names.push_back(layer + part);
    }
  }
  names.push_back("bert.pooler.dense");
  names.push_back("classifier");
  return names;
}

void CompiledModel::validate(const std::string& origin) const {
  model::validate_bert_config(config, origin);
  if (tokenizer.tokens.empty()) throw Error(origin + ": the tokenizer has no vocabulary");
  const int64_t hidden = config.hidden_size;
  std::map<std::string, ExpectedTensor> expected;
  expected["bert.embeddings.word_embeddings.weight"] = {{config.vocab_size, hidden}, std::nullopt};
  expected["bert.embeddings.position_embeddings.weight"] = {{config.max_position_embeddings, hidden}, std::nullopt};
  expected["bert.embeddings.token_type_embeddings.weight"] = {{config.type_vocab_size, hidden}, std::nullopt};
  add_layer_norm(expected, "bert.embeddings.LayerNorm", hidden);
  std::set<std::string> known_linears;
  for (const std::string& name : linear_names(config)) {
    auto record = linears.find(name);
    if (record == linears.end()) throw Error(origin + ": no record of the Linear " + name);
    known_linears.insert(name);
    auto [in, out] = linear_shape(config, name);
    add_linear(expected, name, in, out, record->second.quantization);
  }
  for (const auto& [name, record] : linears) {
    if (!known_linears.contains(name)) throw Error(origin + ": record of an unknown Linear " + name);
  }
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    std::string layer = "bert.encoder.layer." + std::to_string(i) + ".";
    add_layer_norm(expected, layer + "attention.output.LayerNorm", hidden);
    add_layer_norm(expected, layer + "output.LayerNorm", hidden);
  }
  for (const auto& [name, tensor] : tensors) {
    if (!expected.contains(name)) throw Error(origin + ": unexpected tensor " + name);
  }
  for (const auto& [name, wanted] : expected) {
    auto found = tensors.find(name);
    if (found == tensors.end()) throw Error(origin + ": missing tensor " + name);
    const std::string where = origin + ": tensor " + name;
    if (found->second.values.sizes() != at::IntArrayRef(wanted.shape)) {
      throw Error(where + " has shape " + shape_string(found->second.values.sizes()) + ", expected " +
                  shape_string(wanted.shape));
    }
    check_kind(found->second, wanted, where);
  }
}

}  // namespace whittle::deploy
