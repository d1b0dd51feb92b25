#include "deploy/deployed_classifier.h"

#include <gtest/gtest.h>

#include "deploy/compile.h"
#include "deploy/deploy_support.h"
#include "deploy/evaluate_deployed.h"
#include "deploy/model_file.h"
#include "passes/prune/prune_pass.h"
#include "util/error.h"

namespace whittle::deploy {
namespace {

using test::Batch;

CompileOptions exact_embeddings() { return {EmbeddingStorage::float32, EmbeddingStorage::float32}; }

// Compiled, written to bytes and read back: what `whittle run` would load.
DeployedClassifier deployed(model::BertForSequenceClassification& model, const CompileOptions& options,
                            KernelIsa isa = best_kernel_isa()) {
  CompiledModel compiled = compile_classifier(model, test::tiny_tokenizer(), options);
  return DeployedClassifier(parse_compiled_model(serialize_compiled_model(compiled), "test"), isa);
}

TEST(DeployedClassifier, EightBitModelGivesTheSimulatedLogitsBitForBit) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(8));
  for (KernelIsa isa : {KernelIsa::scalar, best_kernel_isa()}) {
    DeployedClassifier classifier = deployed(model, exact_embeddings(), isa);
    for (const auto& [name, engine] : classifier.engines()) EXPECT_EQ(engine, "int8 (" + to_string(isa) + ")") << name;
    for (uint64_t seed : {1, 2}) {
      Batch batch = test::padded_batch(seed);
      torch::Tensor expected = test::simulated_logits(model, batch);
      EXPECT_TRUE(torch::equal(classifier.forward(batch.ids, batch.attention), expected)) << to_string(isa);
    }
  }
}

// Query, key and value share one quantization of the hidden states only
// where they would quantize them alike. In layer 0 (all of whose positions
// are queries) the query reads them with other fractional bits, or the value
// is not quantized at all.
TEST(DeployedClassifier, QueryKeyValueThatQuantizeDifferentlyStayExact) {
  passes::IntegerQuantization other_frac = *test::quantize_config(8).default_config;
  other_frac.data_in.frac_width = 3;
  const std::string layer = "bert.encoder.layer.0.attention.self.";
  for (auto [name, quantization] : {std::pair{layer + "query", std::optional(other_frac)},
                                    std::pair{layer + "value", std::optional<passes::IntegerQuantization>()}}) {
    passes::QuantizeConfig config = test::quantize_config(8);
    config.by = passes::QuantizeSelection::name;
    config.sections[name] = quantization;
    auto model = test::tiny_classifier();
    passes::quantize_pass(model, config);
    DeployedClassifier classifier = deployed(model, exact_embeddings());
    for (uint64_t seed : {1, 2}) {
      Batch batch = test::padded_batch(seed);
      EXPECT_TRUE(torch::equal(classifier.forward(batch.ids, batch.attention), test::simulated_logits(model, batch)))
          << name;
    }
  }
}

TEST(DeployedClassifier, EveryWidthOfTheSweepMatchesItsSimulation) {
  Batch batch = test::padded_batch(3);
  for (int64_t width : {4, 6, 10, 16, 32}) {
    auto model = test::tiny_classifier();
    passes::quantize_pass(model, test::quantize_config(width, width / 2));
    torch::Tensor expected = test::simulated_logits(model, batch);
    DeployedClassifier classifier = deployed(model, exact_embeddings());
    const std::string engine = classifier.engines().front().second;
    const std::string expected_engine = width <= 8 ? "int8" : width <= 16 ? "int16" : "float";
    EXPECT_TRUE(engine.starts_with(expected_engine)) << width << ": " << engine;
    torch::Tensor logits = classifier.forward(batch.ids, batch.attention);
    if (width <= 8) {
      EXPECT_TRUE(torch::equal(logits, expected)) << width;
    } else {  // the simulation's float32 sums may round where the integer ones do not
      EXPECT_TRUE(torch::allclose(logits, expected, 1e-4, 1e-4)) << width << "\n" << logits << "\n" << expected;
    }
  }
}

TEST(DeployedClassifier, UnquantizedModelRunsTheFloatModel) {
  auto model = test::tiny_classifier();
  Batch batch = test::padded_batch(4);
  DeployedClassifier classifier = deployed(model, exact_embeddings());
  EXPECT_EQ(classifier.engines().front().second, "float");
  EXPECT_TRUE(torch::equal(classifier.forward(batch.ids, batch.attention), test::simulated_logits(model, batch)));
}

TEST(DeployedClassifier, PrunedModelsReproduceWeightAndActivationMasks) {
  struct Variant {
    passes::PruneMethod method;
    passes::PruneScope scope;
  };
  for (Variant variant : {Variant{passes::PruneMethod::l1_norm, passes::PruneScope::local},
                          Variant{passes::PruneMethod::l1_norm, passes::PruneScope::global},
                          Variant{passes::PruneMethod::random, passes::PruneScope::local}}) {
    auto model = test::tiny_classifier();
    passes::quantize_pass(model, test::quantize_config(8));
    Batch calibration = test::padded_batch(9);
    passes::prune_pass(model, passes::uniform_prune_config(0.5, variant.method, variant.scope), 0,
                       passes::PruneCalibration{calibration.ids, calibration.attention});
    // Compiled before the simulated model runs: random activation masks
    // then start from the same generator state in both.
    DeployedClassifier classifier = deployed(model, exact_embeddings());
    for (uint64_t seed : {5, 6}) {  // batch after batch, as evaluation runs them
      Batch batch = test::padded_batch(seed);
      EXPECT_TRUE(torch::equal(classifier.forward(batch.ids, batch.attention), test::simulated_logits(model, batch)))
          << passes::to_string(variant.method) << " " << passes::to_string(variant.scope) << " batch " << seed;
    }
  }
}

TEST(DeployedClassifier, Int8EmbeddingsMoveTheLogitsOnlySlightly) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(8));
  Batch batch = test::padded_batch(7, 16, 32);
  torch::Tensor expected = test::simulated_logits(model, batch);
  DeployedClassifier classifier = deployed(model, {EmbeddingStorage::int8, EmbeddingStorage::int8});
  torch::Tensor logits = classifier.forward(batch.ids, batch.attention);
  EXPECT_FALSE(torch::equal(logits, expected));  // the embeddings did change
  const double spread = expected.abs().max().item<double>();
  EXPECT_LT((logits - expected).abs().max().item<double>(), 0.1 * spread);
}

TEST(DeployedClassifier, EvaluationMatchesTheSimulatedEvaluation) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(8));
  data::TokenizedDataset dataset;
  for (int i = 0; i < 40; ++i) {
    Batch one = test::padded_batch(100 + i, 1, 5 + i % 17);
    auto ids = one.ids[0];
    dataset.ids.emplace_back(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
    dataset.labels.push_back(i % 2);
  }
  std::ostringstream log;
  train::EvalResult simulated = train::evaluate(model, dataset, {8, 32}, log);
  DeployedClassifier classifier = deployed(model, exact_embeddings());
  train::EvalResult compiled = evaluate_deployed(classifier, dataset, {8, 32}, log);
  Agreement agreement = compare_logits(compiled.logits, simulated.logits);
  EXPECT_EQ(agreement.identical_logits, 40);
  EXPECT_EQ(agreement.rate(), 1.0);
  EXPECT_DOUBLE_EQ(compiled.accuracy, simulated.accuracy);
}

}  // namespace
}  // namespace whittle::deploy
