#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/bert.h"

namespace whittle::deploy {

// The ONNX opset and IR version every export targets: those of Debian 12's
// libonnx 1.12, whose checker validates the model before it is written
// (opset 17 is also the first with LayerNormalization). int16 Q/DQ needs
// opset 21, which this checker does not know; see onnx_linear.cpp for what
// that means for fixed-point widths above 8.
inline constexpr int64_t kOnnxOpset = 17;
inline constexpr int64_t kOnnxIrVersion = 8;

struct OnnxExportOptions {
  // Hugging Face's third input. whittle's model reads token type 0 at every
  // position (single-segment inputs), so by default the graph has no such
  // input and adds type 0's row; with this set it takes token_type_ids
  // [batch, sequence] and gathers their rows (feeding zeros then gives
  // whittle's logits).
  bool token_type_ids = false;
  // Weights and biases of at most 8 bits as int8 initializers followed by
  // DequantizeLinear (4x smaller, and what QDQ tooling looks for); false:
  // float32 initializers holding the same fixed-point values.
  bool int8_parameters = true;
  // After onnx::checker::check_model, also run ONNX's shape inference in
  // strict mode (node-level errors throw, types checked).
  bool strict_shape_inference = true;
};

// How one Linear went into the graph, for the command's summary.
struct OnnxLinearSummary {
  std::string name;                  // module path, "bert.encoder.layer.0.attention.self.query"
  std::string input = "float";       // or how it is quantized
  std::string input_mask = "none";   // or the activation pruning
  std::string weight = "float32";
  std::string bias = "float32";
};

struct OnnxExportReport {
  int64_t opset = kOnnxOpset;
  int64_t ir_version = kOnnxIrVersion;
  int64_t nodes = 0;
  int64_t initializers = 0;
  int64_t bytes = 0;  // of the serialized model
  std::vector<OnnxLinearSummary> linears;  // in the order the graph computes them
};

nlohmann::json to_json(const OnnxExportReport& report);

// Throws whittle::Error naming the layer when the model holds something a
// standard ONNX graph cannot reproduce: random activation masks (a fresh
// draw on every forward pass, from whittle's own hash stream), unfused LoRA
// adapters, or a transform the export does not know.
void check_onnx_exportable(model::BertForSequenceClassification& model);

// The classifier as a serialized ONNX ModelProto, every Linear computing as
// its attached transforms make it compute (the simulated model of `whittle
// eval`, in evaluation mode: no dropout):
//   inputs   input_ids, attention_mask: int64 [batch, sequence]
//            (token_type_ids too with OnnxExportOptions::token_type_ids)
//   output   logits: float32 [batch, num_labels]
// Every position is computed (no [CLS]-only shortcut), so an activation
// mask's quantile covers the whole padded input, as in whittle.
// The model passes onnx::checker::check_model (and strict shape inference
// unless turned off) before it is returned; a failure throws whittle::Error.
std::string onnx_model_bytes(model::BertForSequenceClassification& model, const OnnxExportOptions& options = {},
                             OnnxExportReport* report = nullptr);

// onnx_model_bytes written atomically to `out` (a file). Nothing is written
// when the model cannot be exported.
OnnxExportReport export_onnx(model::BertForSequenceClassification& model, const std::filesystem::path& out,
                             const OnnxExportOptions& options = {});

}  // namespace whittle::deploy
