#include "deploy/onnx_graph.h"

#include <bit>
#include <cstdio>
#include <cstring>

#include "util/error.h"

namespace whittle::deploy::onnx_graph {
namespace {

// TensorProto.raw_data is little-endian by definition; copying memory as it
// is would silently swap bytes on a big-endian host.
static_assert(std::endian::native == std::endian::little, "the ONNX export writes raw_data as host memory");

template <typename T>
std::string bytes_of(const T& value) {
  std::string bytes(sizeof(T), '\0');
  std::memcpy(bytes.data(), &value, sizeof(T));
  return bytes;
}

std::string hex(uint64_t bits) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(bits));
  return buffer;
}

int32_t element_type_of(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return onnx::TensorProto::FLOAT;
    case torch::kFloat64: return onnx::TensorProto::DOUBLE;
    case torch::kInt8: return onnx::TensorProto::INT8;
    case torch::kInt64: return onnx::TensorProto::INT64;
    default: break;
  }
  throw Error(std::string("the ONNX export has no initializer type for ") + c10::toString(type));
}

void describe_value(onnx::ValueInfoProto& info, const std::string& name, int32_t element_type,
                    const std::vector<Dimension>& dimensions) {
  info.set_name(name);
  onnx::TypeProto_Tensor* tensor_type = info.mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(element_type);
  onnx::TensorShapeProto* shape = tensor_type->mutable_shape();
  for (const Dimension& dimension : dimensions) {
    onnx::TensorShapeProto_Dimension* dim = shape->add_dim();
    if (const auto* size = std::get_if<int64_t>(&dimension)) {
      dim->set_dim_value(*size);
    } else {
      dim->set_dim_param(std::get<std::string>(dimension));
    }
  }
}

onnx::AttributeProto attribute_of_type(const std::string& name, onnx::AttributeProto_AttributeType type) {
  onnx::AttributeProto attribute;
  attribute.set_name(name);
  attribute.set_type(type);
  return attribute;
}

}  // namespace

onnx::AttributeProto int_attribute(const std::string& name, int64_t value) {
  onnx::AttributeProto attribute = attribute_of_type(name, onnx::AttributeProto::INT);
  attribute.set_i(value);
  return attribute;
}

onnx::AttributeProto float_attribute(const std::string& name, float value) {
  onnx::AttributeProto attribute = attribute_of_type(name, onnx::AttributeProto::FLOAT);
  attribute.set_f(value);
  return attribute;
}

onnx::AttributeProto ints_attribute(const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto attribute = attribute_of_type(name, onnx::AttributeProto::INTS);
  for (int64_t value : values) attribute.add_ints(value);
  return attribute;
}

std::string GraphBuilder::unique_value_name(const std::string& stem) {
  std::string name = stem;
  for (int64_t suffix = 1; value_names_.contains(name); ++suffix) name = stem + "_" + std::to_string(suffix);
  value_names_.insert(name);
  return name;
}

// Node names are a namespace apart from value names, and only for people
// reading the graph (netron, error messages): numbering them is enough.
std::string GraphBuilder::unique_node_name(const std::string& stem) {
  int64_t uses = node_name_uses_[stem]++;
  return uses == 0 ? stem : stem + "_" + std::to_string(uses);
}

std::vector<std::string> GraphBuilder::node_with_outputs(const std::string& op, const std::vector<std::string>& inputs,
                                                         int outputs, const std::string& stem,
                                                         const std::vector<onnx::AttributeProto>& attributes) {
  onnx::NodeProto* node = graph_.add_node();
  node->set_op_type(op);
  node->set_name(unique_node_name(stem + ":" + op));
  for (const std::string& input : inputs) node->add_input(input);
  std::vector<std::string> names;
  for (int i = 0; i < outputs; ++i) {
    names.push_back(unique_value_name(outputs == 1 ? stem : stem + "." + std::to_string(i)));
    node->add_output(names.back());
  }
  for (const onnx::AttributeProto& attribute : attributes) *node->add_attribute() = attribute;
  return names;
}

std::string GraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs, const std::string& stem,
                               const std::vector<onnx::AttributeProto>& attributes) {
  return node_with_outputs(op, inputs, 1, stem, attributes).front();
}

std::string GraphBuilder::raw_initializer(const std::string& name, int32_t data_type, const std::vector<int64_t>& dims,
                                          std::string bytes) {
  onnx::TensorProto* tensor = graph_.add_initializer();
  std::string unique = unique_value_name(name);
  tensor->set_name(unique);
  tensor->set_data_type(data_type);
  for (int64_t size : dims) tensor->add_dims(size);
  tensor->set_raw_data(std::move(bytes));
  return unique;
}

std::string GraphBuilder::initializer(const std::string& name, const torch::Tensor& tensor) {
  torch::Tensor values = tensor.detach().to(torch::kCPU).contiguous();
  const int32_t data_type = element_type_of(values.scalar_type());
  std::vector<int64_t> dims(values.sizes().begin(), values.sizes().end());
  const auto* data = static_cast<const char*>(values.data_ptr());
  const size_t size = static_cast<size_t>(values.numel()) * static_cast<size_t>(values.element_size());
  return raw_initializer(name, data_type, dims, std::string(data, data + size));
}

std::string GraphBuilder::shared_constant(const std::string& key, int32_t data_type, const std::vector<int64_t>& dims,
                                          std::string bytes) {
  auto found = constants_.find(key);
  if (found != constants_.end()) return found->second;
  std::string name = raw_initializer("const_" + key, data_type, dims, std::move(bytes));
  constants_.emplace(key, name);
  return name;
}

std::string GraphBuilder::float_scalar(float value) {
  return shared_constant("float_" + hex(std::bit_cast<uint32_t>(value)), onnx::TensorProto::FLOAT, {},
                         bytes_of(value));
}

std::string GraphBuilder::double_scalar(double value) {
  return shared_constant("double_" + hex(std::bit_cast<uint64_t>(value)), onnx::TensorProto::DOUBLE, {},
                         bytes_of(value));
}

std::string GraphBuilder::int64_scalar(int64_t value) {
  return shared_constant("int64_" + std::to_string(value), onnx::TensorProto::INT64, {}, bytes_of(value));
}

std::string GraphBuilder::int8_scalar(int8_t value) {
  return shared_constant("int8_" + std::to_string(value), onnx::TensorProto::INT8, {}, bytes_of(value));
}

std::string GraphBuilder::int64_vector(const std::vector<int64_t>& values) {
  std::string key = "int64s";
  std::string bytes;
  for (int64_t value : values) {
    key += "_" + std::to_string(value);
    bytes += bytes_of(value);
  }
  return shared_constant(key, onnx::TensorProto::INT64, {static_cast<int64_t>(values.size())}, std::move(bytes));
}

void GraphBuilder::add_input(const std::string& name, int32_t element_type, const std::vector<Dimension>& dimensions) {
  if (value_names_.contains(name)) throw Error("the ONNX export names two values " + name);
  value_names_.insert(name);
  describe_value(*graph_.add_input(), name, element_type, dimensions);
}

void GraphBuilder::add_output(const std::string& name, int32_t element_type, const std::vector<Dimension>& dimensions) {
  if (!value_names_.contains(name)) throw Error("the ONNX export declares an output nothing computes: " + name);
  describe_value(*graph_.add_output(), name, element_type, dimensions);
}

std::optional<std::string> GraphBuilder::recall(const std::string& key) const {
  auto found = memo_.find(key);
  if (found == memo_.end()) return std::nullopt;
  return found->second;
}

void GraphBuilder::remember(const std::string& key, const std::string& value) { memo_[key] = value; }

}  // namespace whittle::deploy::onnx_graph
