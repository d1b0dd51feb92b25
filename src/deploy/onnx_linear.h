#pragma once
// Internal to the ONNX export: one whittle Linear, with its quantize and
// prune transforms, as ONNX nodes.
#include <string>

#include "deploy/onnx_export.h"
#include "deploy/onnx_graph.h"
#include "model/linear.h"

namespace whittle::deploy::onnx_graph {

// Throws whittle::Error naming `name` for a transform with no exact ONNX form.
void check_linear_exportable(const model::LinearImpl& linear, const std::string& name);

// y = t(x) W^T + b with t the Linear's input transforms in the order they are
// attached, and W, b its effective (masked, quantized) parameters. Returns
// the output's name, `output_stem` unless that name is taken.
std::string emit_linear(GraphBuilder& graph, model::LinearImpl& linear, const std::string& name,
                        const std::string& input, const std::string& output_stem, const OnnxExportOptions& options,
                        OnnxLinearSummary& summary);

}  // namespace whittle::deploy::onnx_graph
