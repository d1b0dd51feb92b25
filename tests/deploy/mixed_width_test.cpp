// Models whose Linears have widths of their own, as the mixed-precision
// search makes them: each tensor stored at exactly its width, and the engine
// giving the simulated logits.
#include <gtest/gtest.h>

#include "deploy/compile.h"
#include "deploy/deploy_support.h"
#include "deploy/deployed_classifier.h"
#include "deploy/model_file.h"

namespace whittle::deploy {
namespace {

// Per layer: 8-bit inputs (the int8 kernels' widest), weights from 3 to 7
// bits, biases at 12; the classifier at 16 bits (int16 kernel).
passes::QuantizeConfig mixed_config() {
  passes::QuantizeConfig config;
  config.by = passes::QuantizeSelection::name;
  config.default_config = passes::IntegerQuantization{{8, 5}, {6, 5}, {12, 8}};
  const std::string layer = "bert.encoder.layer.0.";
  config.sections[layer + "attention.self.query"] = passes::IntegerQuantization{{8, 5}, {5, 4}, {12, 8}};
  config.sections[layer + "attention.self.key"] = passes::IntegerQuantization{{8, 4}, {7, 5}, {12, 8}};
  config.sections[layer + "intermediate.dense"] = passes::IntegerQuantization{{8, 5}, {3, 3}, {9, 6}};
  config.sections["classifier"] = passes::IntegerQuantization{{16, 10}, {16, 10}, {16, 10}};
  return config;
}

TEST(MixedWidths, EachTensorIsStoredAtItsOwnWidth) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, mixed_config());
  const CompileOptions exact{EmbeddingStorage::float32, EmbeddingStorage::float32};
  const std::string bytes = serialize_compiled_model(compile_classifier(model, test::tiny_tokenizer(), exact));
  const FileLayout layout = describe_model_file(bytes, "test");
  const std::string layer = "bert.encoder.layer.0.";
  EXPECT_TRUE(layout.tensor_storage.at(layer + "attention.self.query.weight").starts_with("int5 "));
  EXPECT_TRUE(layout.tensor_storage.at(layer + "attention.self.key.weight").starts_with("int7 "));
  EXPECT_TRUE(layout.tensor_storage.at(layer + "intermediate.dense.weight").starts_with("int3 "));
  EXPECT_TRUE(layout.tensor_storage.at(layer + "intermediate.dense.bias").starts_with("int9 "));
  EXPECT_TRUE(layout.tensor_storage.at(layer + "output.dense.weight").starts_with("int6 "));
  EXPECT_TRUE(layout.tensor_storage.at("classifier.weight").starts_with("int16 "));
  // A dense 32 x 32 weight at 5 bits: 640 bytes; sparse layouts only when smaller.
  EXPECT_LE(layout.tensor_bytes.at(layer + "attention.self.query.weight"), 32 * 32 * 5 / 8);

  CompiledModel back = parse_compiled_model(bytes, "test");
  DeployedClassifier classifier(back, best_kernel_isa());
  for (const auto& [name, engine] : classifier.engines()) {
    EXPECT_TRUE(engine.starts_with(name == "classifier" ? "int16 " : "int8 ")) << name << ": " << engine;
  }
  for (uint64_t seed : {1, 2}) {
    test::Batch batch = test::padded_batch(seed);
    EXPECT_TRUE(torch::allclose(classifier.forward(batch.ids, batch.attention), test::simulated_logits(model, batch),
                                1e-5, 1e-5));
  }
}

}  // namespace
}  // namespace whittle::deploy
