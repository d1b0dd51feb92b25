// The ONNX export, checked in-process: the checker and strict shape
// inference of Debian's libonnx 1.12, the graph's interface and operators,
// the parameters it stores, and its refusals. Running the graph is left to
// scripts/onnx/compare.mjs (onnxruntime-node), on fixtures the last test
// writes when WHITTLE_ONNX_FIXTURES names a directory.
#include "deploy/onnx_export.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "deploy/deploy_support.h"
#include "passes/lora/lora_transform.h"
#include "passes/prune/prune_pass.h"
#include "passes/quantize/quantize_pass.h"
#include "support/error_message.h"
#include "support/temp_dir.h"
#include "util/atomic_file.h"

namespace whittle::deploy {
namespace {

using test_support::error_message;
using test_support::TempDir;

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto proto;
  EXPECT_TRUE(proto.ParseFromString(bytes));
  return proto;
}

onnx::ModelProto exported(model::BertForSequenceClassification& model, const OnnxExportOptions& options = {}) {
  return parse(onnx_model_bytes(model, options));
}

std::vector<const onnx::NodeProto*> nodes_of(const onnx::ModelProto& proto, const std::string& op) {
  std::vector<const onnx::NodeProto*> found;
  for (const onnx::NodeProto& node : proto.graph().node()) {
    if (node.op_type() == op) found.push_back(&node);
  }
  return found;
}

int64_t count_ops(const onnx::ModelProto& proto, const std::string& op) {
  return static_cast<int64_t>(nodes_of(proto, op).size());
}

torch::Tensor initializer_values(const onnx::ModelProto& proto, const std::string& name) {
  for (const onnx::TensorProto& tensor : proto.graph().initializer()) {
    if (tensor.name() != name) continue;
    const std::vector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
    torch::ScalarType type = torch::kFloat32;
    if (tensor.data_type() == onnx::TensorProto::INT8) type = torch::kInt8;
    if (tensor.data_type() == onnx::TensorProto::INT64) type = torch::kInt64;
    torch::Tensor values = torch::empty(dims, torch::TensorOptions().dtype(type));
    const std::string& raw = tensor.raw_data();
    const auto expected_bytes = static_cast<size_t>(values.numel() * values.element_size());
    EXPECT_EQ(raw.size(), expected_bytes) << name;
    std::memcpy(values.data_ptr(), raw.data(), std::min(raw.size(), expected_bytes));
    return values;
  }
  ADD_FAILURE() << "no initializer " << name;
  return torch::Tensor();
}

int32_t initializer_type(const onnx::ModelProto& proto, const std::string& name) {
  for (const onnx::TensorProto& tensor : proto.graph().initializer()) {
    if (tensor.name() == name) return tensor.data_type();
  }
  return onnx::TensorProto::UNDEFINED;
}

// Linear inputs that get their own quantizer or mask: query, key and value
// share one per layer; then attention output, intermediate and output, the
// pooler and the classifier.
int64_t distinct_linear_inputs(model::BertForSequenceClassification& model) {
  return 4 * static_cast<int64_t>(model->bert->encoder->layers.size()) + 2;
}

TEST(OnnxExport, WrittenModelPassesTheCheckerAndStrictShapeInference) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(8));
  TempDir dir;
  const auto path = dir / "model.onnx";
  OnnxExportReport report = export_onnx(model, path);
  EXPECT_NO_THROW(onnx::checker::check_model(path.string()));
  onnx::ModelProto proto = parse(read_file(path));
  EXPECT_NO_THROW(onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                                     onnx::ShapeInferenceOptions(true, 1, false)));
  EXPECT_EQ(report.nodes, proto.graph().node_size());
  EXPECT_EQ(report.bytes, static_cast<int64_t>(std::filesystem::file_size(path)));
  EXPECT_EQ(report.linears.size(), model::find_linears(*model).size());
}

TEST(OnnxExport, DeclaresTheClassifierInterfaceAtOpset17AndIr8) {
  auto model = test::tiny_classifier();
  onnx::ModelProto proto = exported(model);
  EXPECT_EQ(proto.ir_version(), 8);
  ASSERT_EQ(proto.opset_import_size(), 1);
  EXPECT_EQ(proto.opset_import(0).domain(), "");
  EXPECT_EQ(proto.opset_import(0).version(), 17);
  EXPECT_EQ(proto.producer_name(), "whittle");

  const onnx::GraphProto& graph = proto.graph();
  ASSERT_EQ(graph.input_size(), 2);
  const char* expected_inputs[] = {"input_ids", "attention_mask"};
  for (int i = 0; i < 2; ++i) {
    const onnx::ValueInfoProto& input = graph.input(i);
    EXPECT_EQ(input.name(), expected_inputs[i]);
    EXPECT_EQ(input.type().tensor_type().elem_type(), onnx::TensorProto::INT64);
    const onnx::TensorShapeProto& shape = input.type().tensor_type().shape();
    ASSERT_EQ(shape.dim_size(), 2);
    EXPECT_EQ(shape.dim(0).dim_param(), "batch");
    EXPECT_EQ(shape.dim(1).dim_param(), "sequence");
  }
  ASSERT_EQ(graph.output_size(), 1);
  EXPECT_EQ(graph.output(0).name(), "logits");
  EXPECT_EQ(graph.output(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  const onnx::TensorShapeProto& logits = graph.output(0).type().tensor_type().shape();
  ASSERT_EQ(logits.dim_size(), 2);
  EXPECT_EQ(logits.dim(0).dim_param(), "batch");
  EXPECT_EQ(logits.dim(1).dim_value(), model->config().num_labels);

  OnnxExportOptions with_types;
  with_types.token_type_ids = true;
  onnx::ModelProto typed = exported(model, with_types);
  ASSERT_EQ(typed.graph().input_size(), 3);
  EXPECT_EQ(typed.graph().input(2).name(), "token_type_ids");
}

TEST(OnnxExport, BuildsBertFromStandardOperatorsOnly) {
  auto model = test::tiny_classifier();
  onnx::ModelProto proto = exported(model);
  const int64_t layers = static_cast<int64_t>(model->bert->encoder->layers.size());
  for (const onnx::NodeProto& node : proto.graph().node()) EXPECT_EQ(node.domain(), "") << node.name();
  EXPECT_EQ(count_ops(proto, "LayerNormalization"), 1 + 2 * layers);
  EXPECT_EQ(count_ops(proto, "Softmax"), layers);
  EXPECT_EQ(count_ops(proto, "Erf"), layers);
  EXPECT_EQ(count_ops(proto, "Tanh"), 1);
  EXPECT_EQ(count_ops(proto, "MatMul"), layers * (6 + 2) + 2);  // 6 Linears and 2 attention products per layer
  for (const onnx::NodeProto* norm : nodes_of(proto, "LayerNormalization")) {
    bool has_epsilon = false;
    for (const onnx::AttributeProto& attribute : norm->attribute()) {
      if (attribute.name() != "epsilon") continue;
      has_epsilon = true;
      EXPECT_EQ(attribute.f(), static_cast<float>(model->config().layer_norm_eps));
    }
    EXPECT_TRUE(has_epsilon) << norm->name();
  }
  EXPECT_EQ(count_ops(proto, "QuantizeLinear"), 0);
  EXPECT_EQ(count_ops(proto, "TopK"), 0);
}

TEST(OnnxExport, EightBitQuantizationIsInt8QuantizeDequantizeWithTheSimulatedWeights) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(8, 5));
  onnx::ModelProto proto = exported(model);
  EXPECT_EQ(count_ops(proto, "QuantizeLinear"), distinct_linear_inputs(model));
  EXPECT_EQ(count_ops(proto, "Round"), 0);
  EXPECT_EQ(count_ops(proto, "Clip"), 0);  // int8 saturation is the 8-bit clamp
  torch::NoGradGuard no_grad;
  for (auto& [name, linear] : model::find_linears(*model)) {
    const std::string stored = name + ".weight.transposed.int8";
    ASSERT_EQ(initializer_type(proto, stored), onnx::TensorProto::INT8) << name;
    torch::Tensor weight = initializer_values(proto, stored).to(torch::kFloat32) * std::ldexp(1.0, -5);
    EXPECT_TRUE(torch::equal(weight, linear->effective_weight().t().contiguous())) << name;
    torch::Tensor bias = initializer_values(proto, name + ".bias.int8").to(torch::kFloat32) * std::ldexp(1.0, -5);
    EXPECT_TRUE(torch::equal(bias, linear->effective_bias())) << name;
  }
}

TEST(OnnxExport, SixBitQuantizationClipsTheInt8ValuesToSixBits) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(6, 3));
  onnx::ModelProto proto = exported(model);
  EXPECT_EQ(count_ops(proto, "QuantizeLinear"), distinct_linear_inputs(model));
  ASSERT_EQ(count_ops(proto, "Clip"), distinct_linear_inputs(model));
  for (const onnx::NodeProto* clip : nodes_of(proto, "Clip")) {
    ASSERT_EQ(clip->input_size(), 3);
    EXPECT_EQ(initializer_values(proto, clip->input(1)).item<int8_t>(), -32) << clip->name();
    EXPECT_EQ(initializer_values(proto, clip->input(2)).item<int8_t>(), 31) << clip->name();
  }
}

TEST(OnnxExport, SixteenBitQuantizationRoundsInFloatWithTheSimulatedWeights) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(16, 8));
  onnx::ModelProto proto = exported(model);
  EXPECT_EQ(count_ops(proto, "QuantizeLinear"), 0);  // no int16 Q/DQ before opset 21
  EXPECT_EQ(count_ops(proto, "DequantizeLinear"), 0);
  EXPECT_EQ(count_ops(proto, "Round"), distinct_linear_inputs(model));
  for (const onnx::NodeProto* clip : nodes_of(proto, "Clip")) {
    EXPECT_EQ(initializer_values(proto, clip->input(1)).item<float>(), -32768.0f);
    EXPECT_EQ(initializer_values(proto, clip->input(2)).item<float>(), 32767.0f);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, linear] : model::find_linears(*model)) {
    const std::string stored = name + ".weight.transposed";
    ASSERT_EQ(initializer_type(proto, stored), onnx::TensorProto::FLOAT) << name;
    EXPECT_TRUE(torch::equal(initializer_values(proto, stored), linear->effective_weight().t().contiguous())) << name;
  }
}

TEST(OnnxExport, Int8ParametersCanBeStoredAsTheirFloatValues) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(8, 5));
  OnnxExportOptions options;
  options.int8_parameters = false;
  onnx::ModelProto proto = exported(model, options);
  EXPECT_EQ(count_ops(proto, "DequantizeLinear"), count_ops(proto, "QuantizeLinear"));  // inputs only
  for (auto& [name, linear] : model::find_linears(*model)) {
    EXPECT_EQ(initializer_type(proto, name + ".weight.transposed"), onnx::TensorProto::FLOAT) << name;
  }
}

TEST(OnnxExport, PrunedWeightsAreExactZeros) {
  auto model = test::tiny_classifier();
  passes::prune_pass(model, passes::uniform_prune_config(0.5, passes::PruneMethod::l1_norm, passes::PruneScope::local,
                                                         /*prune_activations=*/false), 0);
  onnx::ModelProto proto = exported(model);
  EXPECT_EQ(count_ops(proto, "TopK"), 0);
  torch::NoGradGuard no_grad;
  for (auto& [name, linear] : model::find_linears(*model)) {
    torch::Tensor stored = initializer_values(proto, name + ".weight.transposed");
    const int64_t zeros = stored.eq(0).sum().item<int64_t>();
    EXPECT_EQ(zeros, linear->effective_weight().eq(0).sum().item<int64_t>()) << name;
    EXPECT_GE(zeros, stored.numel() / 2 - 1) << name;
  }
}

TEST(OnnxExport, LocalL1InputMasksAreTopKQuantilesAndGlobalOnesFixedThresholds) {
  auto local = test::tiny_classifier();
  passes::quantize_pass(local, test::quantize_config(8));
  passes::prune_pass(local, passes::uniform_prune_config(0.5, passes::PruneMethod::l1_norm), 0);
  onnx::ModelProto local_proto = exported(local);
  EXPECT_EQ(count_ops(local_proto, "TopK"), distinct_linear_inputs(local));
  EXPECT_EQ(count_ops(local_proto, "Greater"), distinct_linear_inputs(local));

  auto global = test::tiny_classifier();
  test::Batch calibration = test::padded_batch(9);
  passes::prune_pass(global, passes::uniform_prune_config(0.5, passes::PruneMethod::l1_norm, passes::PruneScope::global),
                     0, passes::PruneCalibration{calibration.ids, calibration.attention});
  onnx::ModelProto global_proto = exported(global);
  EXPECT_EQ(count_ops(global_proto, "TopK"), 0);
  EXPECT_EQ(count_ops(global_proto, "Greater"), distinct_linear_inputs(global));
}

TEST(OnnxExport, RandomActivationMasksAreRefusedNamingTheLayer) {
  auto model = test::tiny_classifier();
  passes::prune_pass(model, passes::uniform_prune_config(0.5, passes::PruneMethod::random), 0);
  TempDir dir;
  const std::string message = error_message([&] { export_onnx(model, dir / "model.onnx"); });
  EXPECT_NE(message.find("bert.encoder.layer.0.attention.self.query"), std::string::npos) << message;
  EXPECT_NE(message.find("random"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir / "model.onnx"));
}

TEST(OnnxExport, UnfusedLoraAdaptersAreRefused) {
  auto model = test::tiny_classifier();
  const auto& config = model->config();
  model->classifier->attach(std::make_shared<passes::LoraTransformImpl>(config.hidden_size, config.num_labels, 2, 1.0,
                                                                          0.0, 1, 2));
  const std::string message = error_message([&] { onnx_model_bytes(model); });
  EXPECT_NE(message.find("classifier"), std::string::npos) << message;
  EXPECT_NE(message.find("LoRA"), std::string::npos) << message;
}

// The fixtures of scripts/onnx/compare.mjs: each model beside the padded
// batches it is to be fed and the logits whittle's simulated model gives for
// them. Batches stay whole, since an l1 mask's quantile covers its batch.
struct FixtureModel {
  std::string name;
  std::function<void(model::BertForSequenceClassification&)> compress;
  std::optional<double> max_abs_diff;  // checked only where no rounding step can amplify float noise
};

nlohmann::json nested(const torch::Tensor& tensor) {
  torch::Tensor values = tensor.to(tensor.is_floating_point() ? torch::kFloat64 : torch::kInt64).contiguous();
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t r = 0; r < values.size(0); ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t c = 0; c < values.size(1); ++c) {
      if (tensor.is_floating_point()) {
        row.push_back(values[r][c].item<double>());
      } else {
        row.push_back(values[r][c].item<int64_t>());
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

TEST(OnnxExport, WritesTheFixturesOfTheOnnxRuntimeCheck) {
  const char* directory = std::getenv("WHITTLE_ONNX_FIXTURES");
  if (directory == nullptr) GTEST_SKIP() << "set WHITTLE_ONNX_FIXTURES=DIR to write the onnxruntime fixtures";
  const std::filesystem::path out(directory);
  std::filesystem::create_directories(out);
  auto quantize = [](int64_t width) {
    return [width](model::BertForSequenceClassification& model) {
      passes::quantize_pass(model, passes::uniform_quantize_config(width));
    };
  };
  auto l1 = [](model::BertForSequenceClassification& model) {
    passes::prune_pass(model, passes::uniform_prune_config(0.5, passes::PruneMethod::l1_norm), 0);
  };
  const std::vector<FixtureModel> models = {
      {"float", [](model::BertForSequenceClassification&) {}, 1e-4},
      {"w8", quantize(8), std::nullopt},
      {"w6", quantize(6), std::nullopt},
      {"w16", quantize(16), std::nullopt},
      {"l1", l1, std::nullopt},
      {"w8-l1",
       [&](model::BertForSequenceClassification& model) {
         quantize(8)(model);
         l1(model);  // placed ahead of the quantizer, as the prune pass always does
       },
       std::nullopt},
  };
  for (const FixtureModel& fixture : models) {
    auto model = test::tiny_classifier();
    fixture.compress(model);
    export_onnx(model, out / (fixture.name + ".onnx"));
    nlohmann::json batches = nlohmann::json::array();
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      test::Batch batch = test::padded_batch(seed, 16, 16 + 4 * static_cast<int64_t>(seed));
      batches.push_back({{"input_ids", nested(batch.ids)},
                         {"attention_mask", nested(batch.attention)},
                         {"expected_logits", nested(test::simulated_logits(model, batch))}});
    }
    nlohmann::json document = {{"name", fixture.name},
                               {"model", fixture.name + ".onnx"},
                               {"min_agreement", 0.999},
                               {"batches", std::move(batches)}};
    document["max_abs_diff"] = fixture.max_abs_diff ? nlohmann::json(*fixture.max_abs_diff) : nlohmann::json(nullptr);
    write_file_atomically(out / (fixture.name + ".json"), document.dump());
  }
}

}  // namespace
}  // namespace whittle::deploy
