#include "deploy/onnx_export.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <map>

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include "deploy/onnx_graph.h"
#include "deploy/onnx_linear.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::deploy {
namespace {

using onnx_graph::GraphBuilder;
using onnx_graph::int_attribute;
using onnx_graph::ints_attribute;

static_assert(kOnnxIrVersion <= onnx::IR_VERSION, "the IR version must be one the linked libonnx can check");

// ATen's GELU kernel multiplies by M_SQRT1_2 converted to the tensor's type.
constexpr double kSqrtHalf = 0.70710678118654752440;

const char* const kDocString =
    "BERT sequence classifier exported by whittle. Fixed-point quantization: QuantizeLinear/DequantizeLinear "
    "(int8, scale 2^-f, zero point 0, plus Clip below 8 bits) or Mul(2^f)/Round/Clip/Mul(2^-f) above 8 bits. "
    "Pruned weights are exact zeros. l1-norm input masks keep |x| > quantile(|x|, s) over the whole input "
    "tensor, padding included: feed the same padded batches to reproduce whittle's logits.";

// The classifier's computation, node by node, in the order whittle's forward
// pass takes it, so that each float operation sees the operands whittle's does.
class BertGraph {
 public:
  BertGraph(GraphBuilder& graph, model::BertForSequenceClassification& model, const OnnxExportOptions& options,
            OnnxExportReport& report)
      : graph_(graph), model_(model), config_(model->config()), options_(options), report_(report) {
    for (auto& [name, linear] : model::find_linears(*model_)) names_[linear.get()] = name;
  }

  void build() {
    graph_.add_input("input_ids", onnx::TensorProto::INT64, {"batch", "sequence"});
    graph_.add_input("attention_mask", onnx::TensorProto::INT64, {"batch", "sequence"});
    if (options_.token_type_ids) graph_.add_input("token_type_ids", onnx::TensorProto::INT64, {"batch", "sequence"});
    std::string hidden = embeddings();
    const std::string mask = additive_mask();
    for (size_t i = 0; i < model_->bert->encoder->layers.size(); ++i) hidden = encoder_layer(i, hidden, mask);
    const std::string logits = classifier_head(hidden);
    if (logits != "logits") throw Error("the ONNX export could not name its output 'logits' (got " + logits + ")");
    graph_.add_output(logits, onnx::TensorProto::FLOAT, {"batch", config_.num_labels});
  }

 private:
  // One Linear with its transforms; its output is named after the module
  // unless `output_stem` says otherwise.
  std::string project(model::Linear& layer, const std::string& input, const std::string& output_stem = "") {
    const std::string& name = names_.at(layer.get());
    OnnxLinearSummary summary;
    std::string output = onnx_graph::emit_linear(graph_, *layer, name, input, output_stem.empty() ? name : output_stem,
                                                 options_, summary);
    report_.linears.push_back(std::move(summary));
    return output;
  }

  std::string layer_norm(const std::string& input, torch::nn::LayerNorm& norm, const std::string& name) {
    const std::string scale = graph_.initializer(name + ".weight", norm->weight);
    const std::string bias = graph_.initializer(name + ".bias", norm->bias);
    return graph_.node("LayerNormalization", {input, scale, bias}, name,
                       {int_attribute("axis", -1),
                        onnx_graph::float_attribute("epsilon", static_cast<float>(config_.layer_norm_eps))});
  }

  // The rows [0, L) of a [positions, H] table; L from input_ids at run time.
  std::string leading_rows(const std::string& table, const std::string& stem) {
    const std::string length = graph_.node("Shape", {"input_ids"}, "sequence_length",
                                           {int_attribute("start", 1), int_attribute("end", 2)});
    const std::string zero = graph_.int64_vector({0});
    return graph_.node("Slice", {table, zero, length, zero}, stem);
  }

  // word + (position + token type), the sum in whittle's order. whittle reads
  // token type 0 everywhere; its row plus the position table is the same
  // float sum whether added here or at run time.
  std::string embeddings() {
    auto& embeddings = *model_->bert->embeddings;
    const std::string words_table =
        graph_.initializer("bert.embeddings.word_embeddings.weight", embeddings.word_embeddings->weight);
    const std::string words =
        graph_.node("Gather", {words_table, "input_ids"}, "bert.embeddings.words", {int_attribute("axis", 0)});
    std::string positional;
    if (options_.token_type_ids) {
      const std::string positions_table =
          graph_.initializer("bert.embeddings.position_embeddings.weight", embeddings.position_embeddings->weight);
      const std::string types_table =
          graph_.initializer("bert.embeddings.token_type_embeddings.weight", embeddings.token_type_embeddings->weight);
      const std::string positions = leading_rows(positions_table, "bert.embeddings.positions");
      const std::string types =
          graph_.node("Gather", {types_table, "token_type_ids"}, "bert.embeddings.token_types", {int_attribute("axis", 0)});
      positional = graph_.node("Add", {positions, types}, "bert.embeddings.positional");
    } else {
      torch::Tensor table = embeddings.position_embeddings->weight + embeddings.token_type_embeddings->weight[0];
      positional = leading_rows(graph_.initializer("bert.embeddings.position_plus_token_type_0", table),
                                "bert.embeddings.positional");
    }
    const std::string sum = graph_.node("Add", {words, positional}, "bert.embeddings.sum");
    return layer_norm(sum, embeddings.layer_norm, "bert.embeddings.LayerNorm");
  }

  // 0 where attention_mask != 0, float lowest where it is 0, [B, 1, 1, L]:
  // model::AttentionMask's additive form. (whittle skips the padded keys of
  // right-padded rows instead; exp(lowest - max) is 0 in float32, the same.)
  std::string additive_mask() {
    const std::string padding = graph_.node("Equal", {"attention_mask", graph_.int64_scalar(0)}, "attention.padding");
    const std::string bias = graph_.node(
        "Where", {padding, graph_.float_scalar(std::numeric_limits<float>::lowest()), graph_.float_scalar(0.0f)},
        "attention.mask_bias");
    return graph_.node("Unsqueeze", {bias, graph_.int64_vector({1, 2})}, "attention.additive_mask");
  }

  // [B, L, H] -> [B, L, heads, head size], then transposed by `perm`.
  std::string split_heads(const std::string& x, const std::vector<int64_t>& perm, const std::string& stem) {
    const int64_t heads = config_.num_attention_heads;
    const std::string shape = graph_.int64_vector({0, 0, heads, config_.hidden_size / heads});
    const std::string split = graph_.node("Reshape", {x, shape}, stem + "/split");
    return graph_.node("Transpose", {split}, stem + "/heads", {ints_attribute("perm", perm)});
  }

  // (x * 0.5) * (1 + erf(x * sqrt(1/2))), ATen's exact GELU in its order.
  std::string gelu(const std::string& x, const std::string& stem) {
    const std::string half = graph_.node("Mul", {x, graph_.float_scalar(0.5f)}, stem + "/half");
    const std::string scaled = graph_.node("Mul", {x, graph_.float_scalar(static_cast<float>(kSqrtHalf))}, stem + "/scaled");
    const std::string erf = graph_.node("Erf", {scaled}, stem + "/erf");
    const std::string one_plus = graph_.node("Add", {graph_.float_scalar(1.0f), erf}, stem + "/one_plus");
    return graph_.node("Mul", {half, one_plus}, stem);
  }

  std::string encoder_layer(size_t index, const std::string& hidden, const std::string& mask) {
    auto& layer = *model_->bert->encoder->layers[index];
    auto& self = *layer.attention->self;
    const std::string prefix = "bert.encoder.layer." + std::to_string(index);
    const int64_t head_size = config_.hidden_size / config_.num_attention_heads;
    const std::string query = project(self.query, hidden);
    const std::string key = project(self.key, hidden);
    const std::string value = project(self.value, hidden);
    // whittle scales the queries (by the double 1/sqrt(d), which ATen applies as a float32).
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_size)));
    const std::string scaled = graph_.node("Mul", {query, graph_.float_scalar(scale)}, prefix + ".attention.scaled_query");
    const std::string queries = split_heads(scaled, {0, 2, 1, 3}, prefix + ".attention.queries");
    const std::string keys = split_heads(key, {0, 2, 3, 1}, prefix + ".attention.keys");  // [B, heads, d, L]
    const std::string values = split_heads(value, {0, 2, 1, 3}, prefix + ".attention.values");
    const std::string scores = graph_.node("MatMul", {queries, keys}, prefix + ".attention.scores");
    const std::string masked = graph_.node("Add", {scores, mask}, prefix + ".attention.masked_scores");
    const std::string probabilities =
        graph_.node("Softmax", {masked}, prefix + ".attention.probabilities", {int_attribute("axis", -1)});
    const std::string context = graph_.node("MatMul", {probabilities, values}, prefix + ".attention.context");
    const std::string merged_heads =
        graph_.node("Transpose", {context}, prefix + ".attention.context_by_position", {ints_attribute("perm", {0, 2, 1, 3})});
    const std::string merged =
        graph_.node("Reshape", {merged_heads, graph_.int64_vector({0, 0, config_.hidden_size})}, prefix + ".attention.merged");

    auto& attention_output = *layer.attention->output;
    const std::string projected = project(attention_output.dense, merged);
    const std::string residual = graph_.node("Add", {projected, hidden}, prefix + ".attention.residual");
    const std::string attended = layer_norm(residual, attention_output.layer_norm, prefix + ".attention.output.LayerNorm");

    const std::string expanded = project(layer.intermediate->dense, attended);
    const std::string activated = gelu(expanded, prefix + ".intermediate.gelu");
    auto& output = *layer.output;
    const std::string contracted = project(output.dense, activated);
    const std::string sum = graph_.node("Add", {contracted, attended}, prefix + ".output.residual");
    return layer_norm(sum, output.layer_norm, prefix + ".output.LayerNorm");
  }

  // tanh(pooler([CLS] row)), then the classifier, whose output is "logits".
  std::string classifier_head(const std::string& hidden) {
    const std::string cls =
        graph_.node("Gather", {hidden, graph_.int64_scalar(0)}, "bert.pooler.cls_row", {int_attribute("axis", 1)});
    const std::string dense = project(model_->bert->pooler->dense, cls);
    const std::string pooled = graph_.node("Tanh", {dense}, "bert.pooler.pooled");
    return project(model_->classifier, pooled, "logits");
  }

  GraphBuilder& graph_;
  model::BertForSequenceClassification& model_;
  const model::BertConfig& config_;
  const OnnxExportOptions& options_;
  OnnxExportReport& report_;
  std::map<const model::LinearImpl*, std::string> names_;
};

// What each Linear's transforms were, in whittle's own terms, for whoever
// opens the file later.
void add_metadata(onnx::ModelProto& proto, model::BertForSequenceClassification& model) {
  nlohmann::json transforms = nlohmann::json::object();
  for (auto& [name, linear] : model::find_linears(*model)) {
    for (const auto& transform : linear->transforms()) transforms[name][transform->kind()] = transform->describe();
  }
  onnx::StringStringEntryProto* entry = proto.add_metadata_props();
  entry->set_key("whittle.transforms");
  entry->set_value(transforms.dump());
}

onnx::ModelProto build_model(model::BertForSequenceClassification& model, const OnnxExportOptions& options,
                             OnnxExportReport& report) {
  check_onnx_exportable(model);
  torch::NoGradGuard no_grad;
  onnx::ModelProto proto;
  proto.set_ir_version(kOnnxIrVersion);
  proto.set_producer_name("whittle");
  proto.set_doc_string(kDocString);
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");  // ai.onnx
  opset->set_version(kOnnxOpset);
  onnx::GraphProto* graph_proto = proto.mutable_graph();
  graph_proto->set_name("whittle_bert_classifier");
  GraphBuilder graph(*graph_proto);
  BertGraph(graph, model, options, report).build();
  add_metadata(proto, model);
  return proto;
}

// ONNX's messages span lines ("==> Context: ..."); whittle's errors are one.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

void validate(onnx::ModelProto& proto, const OnnxExportOptions& options) {
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& error) {
    throw Error("the exported ONNX model fails onnx::checker::check_model: " + one_line(error.what()));
  }
  if (!options.strict_shape_inference) return;
  try {
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*error_mode=*/1,
                                                                   /*enable_data_propagation=*/false));
  } catch (const std::exception& error) {
    throw Error("the exported ONNX model fails ONNX's strict shape inference: " + one_line(error.what()));
  }
  // Shapes are the runtime's to infer; the file keeps only what was built.
  proto.mutable_graph()->clear_value_info();
}

}  // namespace

nlohmann::json to_json(const OnnxExportReport& report) {
  nlohmann::json linears = nlohmann::json::object();
  for (const OnnxLinearSummary& linear : report.linears) {
    linears[linear.name] = {{"input", linear.input}, {"input_mask", linear.input_mask},
                            {"weight", linear.weight}, {"bias", linear.bias}};
  }
  return {{"opset", report.opset}, {"ir_version", report.ir_version}, {"nodes", report.nodes},
          {"initializers", report.initializers}, {"bytes", report.bytes}, {"layers", linears}};
}

void check_onnx_exportable(model::BertForSequenceClassification& model) {
  for (auto& [name, linear] : model::find_linears(*model)) onnx_graph::check_linear_exportable(*linear, name);
}

std::string onnx_model_bytes(model::BertForSequenceClassification& model, const OnnxExportOptions& options,
                             OnnxExportReport* report) {
  OnnxExportReport built;
  onnx::ModelProto proto = build_model(model, options, built);
  validate(proto, options);
  const size_t size = proto.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX)) {
    throw Error("the ONNX model would take " + std::to_string(size) +
                " bytes, past protobuf's 2 GiB limit (the export writes no external data)");
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) throw Error("protobuf could not serialize the ONNX model");
  built.nodes = proto.graph().node_size();
  built.initializers = proto.graph().initializer_size();
  built.bytes = static_cast<int64_t>(bytes.size());
  if (report != nullptr) *report = std::move(built);
  return bytes;
}

OnnxExportReport export_onnx(model::BertForSequenceClassification& model, const std::filesystem::path& out,
                             const OnnxExportOptions& options) {
  OnnxExportReport report;
  const std::string bytes = onnx_model_bytes(model, options, &report);
  write_file_atomically(out, bytes);
  return report;
}

}  // namespace whittle::deploy
