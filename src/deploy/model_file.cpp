#include "deploy/model_file.h"

#include <cstring>

#include "data/digest.h"
#include "deploy/element_packing.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/path_checks.h"

namespace whittle::deploy {
namespace {

using nlohmann::json;

constexpr char kMagic[8] = {'W', 'H', 'T', 'L', 'D', 'P', 'L', 'Y'};
constexpr size_t kPreambleBytes = 32;
constexpr size_t kAlignment = 64;
constexpr const char* kFormatName = "whittle compiled classifier";

size_t aligned(size_t offset) { return (offset + kAlignment - 1) / kAlignment * kAlignment; }

template <typename T>
void put(std::string& out, size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof value);  // x86-64: already little-endian
}

template <typename T>
T get(const std::string& bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof value);
  return value;
}

uint64_t checksum(std::string_view header, std::string_view payload) {
  data::Digest64 digest;
  digest.add(header);
  digest.add(payload);
  return digest.value();
}

// Appends blobs to the payload at aligned offsets.
class PayloadWriter {
 public:
  json add(const std::string& bytes) {
    payload_.resize(aligned(payload_.size()), '\0');
    json where = {{"offset", payload_.size()}, {"bytes", bytes.size()}};
    payload_ += bytes;
    return where;
  }
  json add(const PackedElements& packed) {
    json where = add(packed.bytes);
    where["element"] = to_string(packed.type);
    where["layout"] = to_string(packed.layout);
    where["count"] = packed.count;
    where["nonzeros"] = packed.nonzeros;
    where["index_bytes"] = packed.index_bytes;
    return where;
  }
  const std::string& bytes() const { return payload_; }

 private:
  std::string payload_;
};

json quantization_json(const passes::IntegerQuantization& quantization) {
  return {{"data_in_width", quantization.data_in.width},   {"data_in_frac_width", quantization.data_in.frac_width},
          {"weight_width", quantization.weight.width},     {"weight_frac_width", quantization.weight.frac_width},
          {"bias_width", quantization.bias.width},         {"bias_frac_width", quantization.bias.frac_width}};
}

json linear_json(const LinearRecord& record) {
  json entry = {{"quantization", record.quantization ? quantization_json(*record.quantization) : json(nullptr)}};
  if (record.activation_pruning) {
    const ActivationPruning& pruning = *record.activation_pruning;
    entry["activation_pruning"] = {{"sparsity", pruning.settings.sparsity},
                                   {"method", passes::to_string(pruning.settings.method)},
                                   {"scope", passes::to_string(pruning.settings.scope)},
                                   {"seed", pruning.seed}};
    if (pruning.threshold) entry["activation_pruning"]["threshold"] = *pruning.threshold;
  }
  return entry;
}

ElementType element_for(const StoredTensor& tensor) {
  switch (tensor.kind) {
    case TensorKind::fixed_point: return integer_element_type(tensor.format.width);
    case TensorKind::float16: return ElementType::float16;
    case TensorKind::row_scaled_int8: return ElementType::int8;
    case TensorKind::float32: break;
  }
  return ElementType::float32;
}

json tensor_json(const StoredTensor& tensor, PayloadWriter& payload) {
  json entry = {{"kind", to_string(tensor.kind)}, {"shape", tensor.values.sizes().vec()}};
  if (tensor.kind == TensorKind::fixed_point) {
    entry["width"] = tensor.format.width;
    entry["frac_width"] = tensor.format.frac_width;
  }
  torch::Tensor values = tensor.kind == TensorKind::row_scaled_int8 ? tensor.values.to(torch::kInt32) : tensor.values;
  entry["data"] = payload.add(pack_elements(values, element_for(tensor)));
  if (tensor.kind == TensorKind::row_scaled_int8) {
    entry["row_scales"] = payload.add(pack_elements(tensor.row_scales, ElementType::float32, Layout::dense));
  }
  return entry;
}

std::string joined_vocabulary(const std::vector<std::string>& tokens) {
  std::string text;
  for (const std::string& token : tokens) text += token + "\n";
  return text;
}

json tokenizer_json(const text::TokenizerFiles& tokenizer, PayloadWriter& payload) {
  json entry = {{"vocabulary", payload.add(joined_vocabulary(tokenizer.tokens))},
                {"tokens", tokenizer.tokens.size()},
                {"lower_case", tokenizer.options.lower_case},
                {"max_chars_per_word", tokenizer.options.max_chars_per_word}};
  entry["strip_accents"] = tokenizer.options.strip_accents ? json(*tokenizer.options.strip_accents) : json(nullptr);
  return entry;
}

// --- reading -----------------------------------------------------------------

class PayloadReader {
 public:
  PayloadReader(const std::string& file, size_t start, size_t size, std::string origin)
      : file_(file), start_(start), size_(size), origin_(std::move(origin)) {}

  std::string blob(const json& where, const std::string& what) const {
    auto offset = where.at("offset").get<uint64_t>();
    auto bytes = where.at("bytes").get<uint64_t>();
    if (offset > size_ || bytes > size_ - offset) throw Error(origin_ + ": " + what + " lies outside the payload");
    return file_.substr(start_ + offset, bytes);
  }

  torch::Tensor elements(const json& where, const std::string& what) const {
    PackedElements packed;
    packed.type = parse_element_type(where.at("element").get<std::string>(), origin_ + ": " + what);
    packed.layout = parse_layout(where.at("layout").get<std::string>(), origin_ + ": " + what);
    packed.count = where.at("count").get<int64_t>();
    packed.nonzeros = where.at("nonzeros").get<int64_t>();
    packed.index_bytes = where.at("index_bytes").get<int64_t>();
    packed.bytes = blob(where, what);
    return unpack_elements(packed, origin_ + ": " + what);
  }

 private:
  const std::string& file_;
  size_t start_;
  size_t size_;
  std::string origin_;
};

passes::FixedPointFormat format_from(const json& entry, const std::string& prefix) {
  passes::FixedPointFormat format{entry.at(prefix + "width").get<int64_t>(), entry.at(prefix + "frac_width").get<int64_t>()};
  passes::validate_fixed_point_format(format, prefix == "data_in_" ? passes::FixedPointOperand::input
                                                                   : passes::FixedPointOperand::parameter);
  return format;
}

LinearRecord linear_from(const json& entry, const std::string& origin) {
  LinearRecord record;
  const json& quantization = entry.at("quantization");
  if (!quantization.is_null()) {
    record.quantization = passes::IntegerQuantization{format_from(quantization, "data_in_"), format_from(quantization, "weight_"),
                                                      format_from(quantization, "bias_")};
  }
  if (entry.contains("activation_pruning")) {
    const json& pruning = entry.at("activation_pruning");
    ActivationPruning activation;
    activation.settings.sparsity = pruning.at("sparsity").get<double>();
    activation.settings.method = passes::parse_prune_method(pruning.at("method").get<std::string>(), origin);
    activation.settings.scope = passes::parse_prune_scope(pruning.at("scope").get<std::string>(), origin);
    activation.seed = pruning.at("seed").get<uint64_t>();
    if (pruning.contains("threshold")) activation.threshold = pruning.at("threshold").get<float>();
    if (!(activation.settings.sparsity >= 0.0 && activation.settings.sparsity < 1.0)) {
      throw Error(origin + ": activation sparsity must be in [0, 1)");
    }
    record.activation_pruning = activation;
  }
  return record;
}

StoredTensor tensor_from(const json& entry, const PayloadReader& payload, const std::string& what) {
  StoredTensor tensor;
  tensor.kind = parse_tensor_kind(entry.at("kind").get<std::string>(), what);
  auto shape = entry.at("shape").get<std::vector<int64_t>>();
  // Checked before anything is sized by it: the product of the sizes must
  // stay a plausible element count (and must not overflow on the way).
  constexpr int64_t kMaxElements = int64_t{1} << 40;
  int64_t count = 1;
  for (int64_t size : shape) {
    if (size < 0 || size > kMaxElements || (size > 0 && count > kMaxElements / size)) {
      throw Error(what + ": implausible shape (more than 2^40 elements or a negative size)");
    }
    count *= size;
  }
  torch::Tensor flat = payload.elements(entry.at("data"), what);
  if (flat.numel() != count) throw Error(what + ": " + std::to_string(flat.numel()) + " elements for its shape's " + std::to_string(count));
  const bool integer_data = flat.scalar_type() == torch::kInt32;
  switch (tensor.kind) {
    case TensorKind::fixed_point:
      if (!integer_data) throw Error(what + ": fixed-point tensor stored as floats");
      tensor.format = format_from(entry, "");
      break;
    case TensorKind::row_scaled_int8:
      if (!integer_data || (flat.numel() > 0 && (flat.min().item<int32_t>() < -128 || flat.max().item<int32_t>() > 127))) {
        throw Error(what + ": row-scaled values must be int8");
      }
      flat = flat.to(torch::kInt8);
      tensor.row_scales = payload.elements(entry.at("row_scales"), what + " row scales");
      if (tensor.row_scales.scalar_type() != torch::kFloat32) throw Error(what + ": row scales must be float32");
      break;
    case TensorKind::float32:
      if (flat.scalar_type() != torch::kFloat32) throw Error(what + ": float32 tensor stored as something else");
      break;
    case TensorKind::float16:
      if (flat.scalar_type() != torch::kFloat16) throw Error(what + ": float16 tensor stored as something else");
      break;
  }
  tensor.values = flat.reshape(shape);
  return tensor;
}

text::TokenizerFiles tokenizer_from(const json& entry, const PayloadReader& payload, const std::string& origin) {
  text::TokenizerFiles tokenizer;
  std::string vocabulary = payload.blob(entry.at("vocabulary"), "vocabulary");
  size_t start = 0;
  for (size_t end; (end = vocabulary.find('\n', start)) != std::string::npos; start = end + 1) {
    tokenizer.tokens.push_back(vocabulary.substr(start, end - start));
  }
  if (start != vocabulary.size() || tokenizer.tokens.size() != entry.at("tokens").get<size_t>()) {
    throw Error(origin + ": the vocabulary does not hold the number of tokens the header gives");
  }
  tokenizer.options.lower_case = entry.at("lower_case").get<bool>();
  tokenizer.options.max_chars_per_word = entry.at("max_chars_per_word").get<size_t>();
  if (!entry.at("strip_accents").is_null()) tokenizer.options.strip_accents = entry.at("strip_accents").get<bool>();
  return tokenizer;
}

CompiledModel model_from(const json& header, const PayloadReader& payload, const std::string& origin) {
  if (header.at("format").get<std::string>() != kFormatName) throw Error(origin + ": not a compiled classifier");
  CompiledModel model;
  model.config = model::parse_bert_config(header.at("config"), origin + " [config]");
  model.tokenizer = tokenizer_from(header.at("tokenizer"), payload, origin);
  model.cls_only_last_layer = header.at("cls_only_last_layer").get<bool>();
  for (const auto& [name, entry] : header.at("linears").items()) {
    model.linears[name] = linear_from(entry, origin + ": Linear " + name);
  }
  for (const auto& [name, entry] : header.at("tensors").items()) {
    model.tensors[name] = tensor_from(entry, payload, origin + ": tensor " + name);
  }
  if (header.contains("source")) model.source = header.at("source");
  return model;
}

struct CheckedFile {
  json header;
  size_t payload_start = 0;
  size_t payload_size = 0;
};

// The preamble's promises kept: signature, version, length, checksum.
CheckedFile check_file(const std::string& bytes, const std::string& origin) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw Error(origin + " is not a compiled whittle model (no WHTLDPLY signature); make one with `whittle compile`");
  }
  if (bytes.size() < kPreambleBytes) throw Error(origin + " is truncated: " + std::to_string(bytes.size()) + " bytes");
  const auto version = get<uint32_t>(bytes, 8);
  if (version < kOldestModelFileVersion || version > kModelFileVersion) {
    throw Error(origin + " has format version " + std::to_string(version) + "; this whittle reads versions " +
                std::to_string(kOldestModelFileVersion) + " to " + std::to_string(kModelFileVersion));
  }
  const auto header_size = get<uint32_t>(bytes, 12);
  const auto payload_size = get<uint64_t>(bytes, 16);
  const size_t payload_start = aligned(kPreambleBytes + header_size);
  if (payload_size > (uint64_t{1} << 40)) throw Error(origin + " is corrupt: implausible payload length");
  const uint64_t expected_size = payload_start + payload_size;
  if (bytes.size() < expected_size) {
    throw Error(origin + " is truncated: " + std::to_string(bytes.size()) + " of " + std::to_string(expected_size) + " bytes");
  }
  if (bytes.size() > expected_size) {
    throw Error(origin + " is corrupt: " + std::to_string(bytes.size() - expected_size) + " bytes after the end of the model");
  }
  std::string_view header_text(bytes.data() + kPreambleBytes, header_size);
  std::string_view payload_bytes(bytes.data() + payload_start, payload_size);
  if (checksum(header_text, payload_bytes) != get<uint64_t>(bytes, 24)) {
    throw Error(origin + " is corrupt: its checksum does not match its contents");
  }
  CheckedFile file;
  try {
    file.header = json::parse(header_text);
  } catch (const json::exception& e) {
    throw Error(origin + ": malformed header (" + e.what() + ")");
  }
  file.payload_start = payload_start;
  file.payload_size = payload_size;
  return file;
}

}  // namespace

std::string serialize_compiled_model(const CompiledModel& model) {
  model.validate("the model to write");
  PayloadWriter payload;
  json header = {{"format", kFormatName},
                 {"version", kModelFileVersion},
                 {"config", model::to_json(model.config)},
                 {"cls_only_last_layer", model.cls_only_last_layer},
                 {"source", model.source}};
  header["tokenizer"] = tokenizer_json(model.tokenizer, payload);
  header["linears"] = json::object();
  for (const auto& [name, record] : model.linears) header["linears"][name] = linear_json(record);
  header["tensors"] = json::object();
  for (const auto& [name, tensor] : model.tensors) header["tensors"][name] = tensor_json(tensor, payload);

  const std::string header_text = header.dump();
  const size_t payload_start = aligned(kPreambleBytes + header_text.size());
  std::string file(payload_start, '\0');
  std::memcpy(file.data(), kMagic, sizeof kMagic);
  put<uint32_t>(file, 8, kModelFileVersion);
  put<uint32_t>(file, 12, static_cast<uint32_t>(header_text.size()));
  put<uint64_t>(file, 16, payload.bytes().size());
  put<uint64_t>(file, 24, checksum(header_text, payload.bytes()));
  std::memcpy(file.data() + kPreambleBytes, header_text.data(), header_text.size());
  file += payload.bytes();
  return file;
}

CompiledModel parse_compiled_model(const std::string& bytes, const std::string& origin) {
  CheckedFile file = check_file(bytes, origin);
  CompiledModel model;
  try {
    model = model_from(file.header, PayloadReader(bytes, file.payload_start, file.payload_size, origin), origin);
  } catch (const json::exception& e) {
    throw Error(origin + ": malformed header (" + e.what() + ")");
  } catch (const c10::Error& e) {  // LibTorch's own checks do not know the file
    throw Error(origin + " is corrupt: " + e.what_without_backtrace());
  }
  model.validate(origin);
  return model;
}

FileLayout describe_model_file(const std::string& bytes, const std::string& origin) {
  CheckedFile file = check_file(bytes, origin);
  FileLayout layout;
  layout.total_bytes = static_cast<int64_t>(bytes.size());
  layout.header_bytes = static_cast<int64_t>(file.payload_start);
  try {
    layout.vocabulary_bytes = file.header.at("tokenizer").at("vocabulary").at("bytes").get<int64_t>();
    for (const auto& [name, entry] : file.header.at("tensors").items()) {
      const json& data = entry.at("data");
      int64_t stored = data.at("bytes").get<int64_t>();
      if (entry.contains("row_scales")) stored += entry.at("row_scales").at("bytes").get<int64_t>();
      layout.tensor_bytes[name] = stored;
      layout.tensor_storage[name] = data.at("element").get<std::string>() + " " + data.at("layout").get<std::string>();
    }
  } catch (const json::exception& e) {
    throw Error(origin + ": malformed header (" + e.what() + ")");
  }
  return layout;
}

void write_compiled_model(const std::filesystem::path& path, const CompiledModel& model) {
  write_file_atomically(path, serialize_compiled_model(model));
}

CompiledModel read_compiled_model(const std::filesystem::path& path) {
  require_regular_file(path, "model file");
  return parse_compiled_model(read_file(path), path.string());
}

}  // namespace whittle::deploy
