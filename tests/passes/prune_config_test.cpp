#include "passes/prune/prune_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "util/error.h"
#include "support/error_message.h"

namespace whittle::passes {
namespace {

using nlohmann::json;

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(WHITTLE_TEST_FIXTURES) / "prune" / name;
}

using test_support::error_message;

std::string parse_error(const json& document) {
  return error_message([&] { parse_prune_config(document, "test.toml"); });
}

TEST(PruneConfig, ReadsMaseLabConfig) {
  PruneConfig config = load_prune_config(fixture("mase_lab.toml"));
  PruneSettings expected{0.5, PruneMethod::l1_norm, PruneScope::local};
  ASSERT_TRUE(config.weight && config.activation);
  EXPECT_EQ(*config.weight, expected);
  EXPECT_EQ(*config.activation, expected);
  EXPECT_EQ(config.origin, fixture("mase_lab.toml").string());
}

TEST(PruneConfig, ShippedExampleConfigsLoad) {
  auto directory = std::filesystem::path(WHITTLE_TEST_FIXTURES).parent_path().parent_path() / "configs" / "prune";
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    PruneConfig config = load_prune_config(entry.path());
    EXPECT_TRUE(config.weight) << entry.path();
    ++loaded;
  }
  EXPECT_GE(loaded, 3);
  PruneConfig lab = load_prune_config(directory / "l1_local_50.toml");
  EXPECT_EQ(*lab.activation, (PruneSettings{0.5, PruneMethod::l1_norm, PruneScope::local}));
}

TEST(PruneConfig, ReadsThePruneSectionOfAWholeChConfig) {
  PruneConfig config = load_prune_config(fixture("ch_config.toml"));
  ASSERT_TRUE(config.weight && config.activation);
  EXPECT_EQ(*config.weight, (PruneSettings{0.3, PruneMethod::random, PruneScope::global}));
  EXPECT_EQ(*config.activation, (PruneSettings{0.0, PruneMethod::random, PruneScope::local}));
}

TEST(PruneConfig, ReadsJsonAndLeavesAMissingSectionUnpruned) {
  PruneConfig config = load_prune_config(fixture("weights_only.json"));
  ASSERT_TRUE(config.weight);
  EXPECT_FALSE(config.activation);
  EXPECT_EQ(*config.weight, (PruneSettings{0.7, PruneMethod::l1_norm, PruneScope::global}));
}

TEST(PruneConfig, FillsMaseDefaults) {
  PruneConfig config = parse_prune_config(json{{"weight", json::object()}}, "x");
  EXPECT_EQ(*config.weight, (PruneSettings{0.0, PruneMethod::random, PruneScope::local}));
  EXPECT_EQ(parse_prune_config(json{{"weight", {{"sparsity", 0}}}}, "x").weight->sparsity, 0.0);
}

TEST(PruneConfig, RoundTripsThroughJson) {
  PruneConfig config = load_prune_config(fixture("mase_lab.toml"));
  json written = to_json(config);
  EXPECT_EQ(written["weight"]["method"], "l1-norm");
  EXPECT_EQ(written["weight"]["granularity"], "elementwise");
  PruneConfig again = parse_prune_config(written, "again");
  EXPECT_EQ(again.weight, config.weight);
  EXPECT_EQ(again.activation, config.activation);
}

TEST(PruneConfig, UnknownKeysNameTheKeyAndFile) {
  std::string message = error_message([] { load_prune_config(fixture("unknown_key.toml")); });
  EXPECT_NE(message.find("unknown_key.toml"), std::string::npos) << message;
  EXPECT_NE(message.find("weight.sparcity_target is not a known key"), std::string::npos) << message;
  EXPECT_NE(parse_error({{"weights", json::object()}}).find("test.toml: weights is not a known key"),
            std::string::npos);
  EXPECT_NE(parse_error({{"passes", {{"prune", {{"by", "type"}}}}}}).find("passes.prune.by is not a known key"),
            std::string::npos);
}

TEST(PruneConfig, BadValuesNameTheKey) {
  auto weight = [](json section) { return parse_error({{"weight", section}}); };
  EXPECT_NE(weight({{"sparsity", 1.0}}).find("test.toml: weight.sparsity must be from 0 to below 1, got 1.0"),
            std::string::npos)
      << weight({{"sparsity", 1.0}});
  EXPECT_NE(weight({{"sparsity", -0.1}}).find("weight.sparsity"), std::string::npos);
  EXPECT_NE(weight({{"sparsity", "0.5"}}).find("weight.sparsity must be a number"), std::string::npos);
  EXPECT_NE(weight({{"sparsity", true}}).find("weight.sparsity must be a number"), std::string::npos);
  EXPECT_NE(weight({{"sparsity", {{"classifier", 0.5}}}}).find("per-layer sparsities are not supported"),
            std::string::npos);
  EXPECT_NE(weight({{"method", "l2-norm"}}).find("test.toml: weight.method must be \"random\" or \"l1-norm\", got \"l2-norm\""),
            std::string::npos);
  EXPECT_NE(weight({{"method", 1}}).find("weight.method must be a string"), std::string::npos);
  EXPECT_NE(weight({{"scope", "regional"}}).find("weight.scope must be \"local\" or \"global\""), std::string::npos);
  EXPECT_NE(weight({{"granularity", "channel"}}).find("weight.granularity must be \"elementwise\""), std::string::npos);
  EXPECT_NE(parse_error({{"activation", 0.5}}).find("activation must be a table"), std::string::npos);
  EXPECT_NE(parse_error(json::object()).find("weight is missing"), std::string::npos);
  EXPECT_NE(parse_error({{"passes", {{"quantize", json::object()}}}}).find("passes.prune is missing"),
            std::string::npos);
}

TEST(PruneConfig, FileErrorsNameTheFile) {
  EXPECT_NE(error_message([] { load_prune_config(fixture("absent.toml")); }).find("prune config not found"),
            std::string::npos);
  auto directory = std::filesystem::temp_directory_path() / "whittle_prune_config_test";
  std::filesystem::create_directories(directory);
  std::ofstream(directory / "config.yaml") << "weight: {}\n";
  EXPECT_NE(error_message([&] { load_prune_config(directory / "config.yaml"); }).find("must be a .toml or .json file"),
            std::string::npos);
  std::ofstream(directory / "broken.toml") << "[weight\nsparsity = 0.5\n";
  EXPECT_NE(error_message([&] { load_prune_config(directory / "broken.toml"); }).find("broken.toml:1:"), std::string::npos);
  std::ofstream(directory / "infinite.toml") << "[weight]\nsparsity = inf\n";
  EXPECT_NE(error_message([&] { load_prune_config(directory / "infinite.toml"); }).find("infinite.toml"), std::string::npos);
  std::ofstream(directory / "broken.json") << "{\"weight\": ";
  EXPECT_NE(error_message([&] { load_prune_config(directory / "broken.json"); }).find("invalid JSON"), std::string::npos);
  std::filesystem::remove_all(directory);
}

TEST(PruneConfig, UniformConfigPrunesWeightsAndOptionallyActivations) {
  PruneConfig both = uniform_prune_config(0.5, PruneMethod::l1_norm);
  ASSERT_TRUE(both.weight && both.activation);
  EXPECT_EQ(*both.activation, *both.weight);
  EXPECT_EQ(both.origin, "--sparsity 0.5 --method l1-norm --scope local");
  PruneConfig weights = uniform_prune_config(0.2, PruneMethod::random, PruneScope::global, false);
  EXPECT_FALSE(weights.activation);
  EXPECT_EQ(weights.weight->scope, PruneScope::global);
  EXPECT_NE(error_message([] { uniform_prune_config(1.0, PruneMethod::random); }).find("--sparsity 1"), std::string::npos);
}

TEST(PruneConfig, ParsesMethodAndScopeFlags) {
  EXPECT_EQ(parse_prune_method("l1-norm", "--method"), PruneMethod::l1_norm);
  EXPECT_EQ(parse_prune_method("random", "--method"), PruneMethod::random);
  EXPECT_EQ(parse_prune_scope("global", "--scope"), PruneScope::global);
  EXPECT_NE(error_message([] { parse_prune_method("l1", "--method"); }).find("--method must be"), std::string::npos);
  EXPECT_NE(error_message([] { parse_prune_scope("all", "--scope"); }).find("--scope must be"), std::string::npos);
}

}  // namespace
}  // namespace whittle::passes
