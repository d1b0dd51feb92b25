#pragma once
// Internal to the ONNX export: the only whittle header that includes ONNX's
// protobuf classes, so that nothing outside src/deploy/onnx_*.cpp (and the
// ONNX export test) needs ONNX_ML / ONNX_NAMESPACE defined.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <onnx/onnx_pb.h>
#include <torch/torch.h>

namespace whittle::deploy::onnx_graph {

// A dimension of a graph input or output: fixed, or named ("batch").
using Dimension = std::variant<int64_t, std::string>;

onnx::AttributeProto int_attribute(const std::string& name, int64_t value);
onnx::AttributeProto float_attribute(const std::string& name, float value);
onnx::AttributeProto ints_attribute(const std::string& name, const std::vector<int64_t>& values);

// Appends to a GraphProto in the order a value is computed, so the graph is
// topologically sorted as the checker requires. Every value gets a name of
// its own (ONNX graphs are in single static assignment form): a stem is used
// as it is the first time, with a numbered suffix after that.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}
  GraphBuilder(const GraphBuilder&) = delete;
  GraphBuilder& operator=(const GraphBuilder&) = delete;

  // A node with one output, named after `stem`; returns the output's name.
  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::string& stem,
                   const std::vector<onnx::AttributeProto>& attributes = {});
  // A node with `outputs` outputs (TopK: values and indices).
  std::vector<std::string> node_with_outputs(const std::string& op, const std::vector<std::string>& inputs,
                                             int outputs, const std::string& stem,
                                             const std::vector<onnx::AttributeProto>& attributes = {});

  // An initializer holding `tensor` (float32, float64, int8 or int64), row-major.
  std::string initializer(const std::string& name, const torch::Tensor& tensor);

  // Scalar and small constants, one initializer per distinct value and type
  // (keyed by bit pattern, so that -0.0 and 0.0 stay apart).
  std::string float_scalar(float value);
  std::string double_scalar(double value);
  std::string int64_scalar(int64_t value);
  std::string int8_scalar(int8_t value);
  std::string int64_vector(const std::vector<int64_t>& values);

  void add_input(const std::string& name, int32_t element_type, const std::vector<Dimension>& dimensions);
  void add_output(const std::string& name, int32_t element_type, const std::vector<Dimension>& dimensions);

  // Expressions already built for the same input and parameters (query, key
  // and value quantize and mask one hidden state alike): deterministic
  // subgraphs, so reusing one changes no value.
  std::optional<std::string> recall(const std::string& key) const;
  void remember(const std::string& key, const std::string& value);

 private:
  std::string unique_value_name(const std::string& stem);
  std::string unique_node_name(const std::string& stem);
  std::string raw_initializer(const std::string& name, int32_t data_type, const std::vector<int64_t>& dims,
                              std::string bytes);
  std::string shared_constant(const std::string& key, int32_t data_type, const std::vector<int64_t>& dims,
                              std::string bytes);

  onnx::GraphProto& graph_;
  std::set<std::string> value_names_;
  std::map<std::string, int64_t> node_name_uses_;
  std::map<std::string, std::string> constants_;  // key (type and bits) -> initializer name
  std::map<std::string, std::string> memo_;
};

}  // namespace whittle::deploy::onnx_graph
