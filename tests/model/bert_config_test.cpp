#include "model/bert_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "util/atomic_file.h"
#include "util/error.h"
#include "support/error_message.h"

namespace whittle::model {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kTinyConfig = fs::path(WHITTLE_TEST_FIXTURES) / "bert-tiny-config.json";

json minimal_config() {
  return {{"vocab_size", 100},
          {"hidden_size", 16},
          {"num_hidden_layers", 1},
          {"num_attention_heads", 4},
          {"intermediate_size", 32}};
}

using test_support::error_message;

void expect_rejected(const json& config, const std::string& problem) {
  std::string message = error_message([&] { parse_bert_config(config, "config.json"); });
  EXPECT_EQ(message.rfind("config.json: ", 0), 0u) << message;
  EXPECT_NE(message.find(problem), std::string::npos) << "message: " << message << "\nexpected: " << problem;
}

json with(json config, const std::string& key, const json& value) {
  config[key] = value;
  return config;
}

// The optional keys that both the BERT-Tiny fixture and BertConfig's defaults
// set to the same values (not hidden_dropout_prob: the tests vary it).
void expect_bert_tiny_optional_values(const BertConfig& config) {
  EXPECT_EQ(config.max_position_embeddings, 512);
  EXPECT_EQ(config.type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(config.attention_probs_dropout_prob, 0.1);
  EXPECT_DOUBLE_EQ(config.layer_norm_eps, 1e-12);
  EXPECT_EQ(config.hidden_act, "gelu");
  EXPECT_EQ(config.num_labels, 2);
  EXPECT_EQ(config.pad_token_id, 0);
}

TEST(BertConfigTest, LoadsBertTinyFixture) {
  BertConfig config = load_bert_config(kTinyConfig);
  EXPECT_EQ(config.vocab_size, 30522);
  EXPECT_EQ(config.hidden_size, 128);
  EXPECT_EQ(config.num_hidden_layers, 2);
  EXPECT_EQ(config.num_attention_heads, 2);
  EXPECT_EQ(config.intermediate_size, 512);
  EXPECT_DOUBLE_EQ(config.hidden_dropout_prob, 0.1);
  EXPECT_DOUBLE_EQ(config.initializer_range, 0.02);
  expect_bert_tiny_optional_values(config);
  EXPECT_EQ(config.extra.at("problem_type"), "single_label_classification");
  EXPECT_EQ(config.extra.at("position_embedding_type"), "absolute");
  EXPECT_FALSE(config.extra.contains("hidden_size")) << "interpreted keys do not go to extra";
  EXPECT_FALSE(config.extra.contains("num_labels"));
}

TEST(BertConfigTest, OptionalKeysTakeDefaults) {
  json document = minimal_config();
  document["hidden_dropout_prob"] = 0;  // an integer is a valid number
  BertConfig config = parse_bert_config(document, "minimal");
  EXPECT_EQ(config.hidden_size, 16);
  EXPECT_DOUBLE_EQ(config.hidden_dropout_prob, 0.0);
  expect_bert_tiny_optional_values(config);
  EXPECT_TRUE(config.extra.empty());
}

TEST(BertConfigTest, MissingRequiredKeyIsNamed) {
  for (const char* key : {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"}) {
    SCOPED_TRACE(key);
    json document = minimal_config();
    document.erase(key);
    expect_rejected(document, std::string("missing required key \"") + key + "\"");
  }
}

TEST(BertConfigTest, RejectsWrongTypes) {
  expect_rejected(with(minimal_config(), "hidden_size", "16"), "\"hidden_size\" must be an integer, got \"16\"");
  expect_rejected(with(minimal_config(), "hidden_size", 16.5), "\"hidden_size\" must be an integer");
  expect_rejected(with(minimal_config(), "num_labels", true), "\"num_labels\" must be an integer");
  expect_rejected(with(minimal_config(), "layer_norm_eps", "1e-12"), "\"layer_norm_eps\" must be a number");
  expect_rejected(with(minimal_config(), "hidden_act", 1), "\"hidden_act\" must be a string");
  expect_rejected(json::array({1, 2}), "must be a JSON object");
}

TEST(BertConfigTest, RejectsNonPositiveSizes) {
  expect_rejected(with(minimal_config(), "num_hidden_layers", 0), "\"num_hidden_layers\" must be positive, got 0");
  expect_rejected(with(minimal_config(), "vocab_size", -5), "\"vocab_size\" must be positive, got -5");
  expect_rejected(with(minimal_config(), "max_position_embeddings", 0), "\"max_position_embeddings\" must be positive");
  expect_rejected(with(minimal_config(), "num_labels", 0), "\"num_labels\" must be positive");
}

TEST(BertConfigTest, RejectsOutOfRangeValues) {
  expect_rejected(with(minimal_config(), "hidden_dropout_prob", 1.0), "\"hidden_dropout_prob\" must be in [0, 1)");
  expect_rejected(with(minimal_config(), "attention_probs_dropout_prob", -0.1), "\"attention_probs_dropout_prob\"");
  expect_rejected(with(minimal_config(), "layer_norm_eps", 0), "\"layer_norm_eps\" must be positive");
  expect_rejected(with(minimal_config(), "pad_token_id", 100), "\"pad_token_id\" 100 is outside the vocabulary");
}

TEST(BertConfigTest, RejectsHiddenSizeNotDivisibleByHeads) {
  expect_rejected(with(minimal_config(), "num_attention_heads", 3),
                  "\"hidden_size\" 16 is not divisible by \"num_attention_heads\" 3");
}

TEST(BertConfigTest, RejectsActivationsOtherThanGelu) {
  expect_rejected(with(minimal_config(), "hidden_act", "relu"), "\"hidden_act\" is \"relu\" but whittle supports only \"gelu\"");
  expect_rejected(with(minimal_config(), "hidden_act", "gelu_new"), "supports only \"gelu\"");
}

TEST(BertConfigTest, RejectsOtherArchitectureVariants) {
  expect_rejected(with(minimal_config(), "model_type", "roberta"), "\"model_type\" is \"roberta\"");
  expect_rejected(with(minimal_config(), "position_embedding_type", "relative_key"), "\"position_embedding_type\"");
}

TEST(BertConfigTest, NumLabelsComesFromKeyOrId2Label) {
  EXPECT_EQ(parse_bert_config(with(minimal_config(), "num_labels", 5), "x").num_labels, 5);
  json three_labels = {{"0", "neg"}, {"1", "neutral"}, {"2", "pos"}};
  EXPECT_EQ(parse_bert_config(with(minimal_config(), "id2label", three_labels), "x").num_labels, 3);
  json both = with(with(minimal_config(), "id2label", three_labels), "num_labels", 3);
  EXPECT_EQ(parse_bert_config(both, "x").num_labels, 3);
  expect_rejected(with(both, "num_labels", 2), "\"num_labels\" is 2 but \"id2label\" names 3 labels");
  expect_rejected(with(minimal_config(), "id2label", {{"1", "a"}}), "\"id2label\" must map");
  expect_rejected(with(minimal_config(), "id2label", {{"0", 7}}), "\"id2label\" must map");
}

TEST(BertConfigTest, ToJsonWritesATransformersConfig) {
  json document = minimal_config();
  document["custom_key"] = {{"nested", true}};
  document["architectures"] = {"BertForMaskedLM"};
  document["num_labels"] = 3;
  json out = to_json(parse_bert_config(document, "x"));

  EXPECT_EQ(out.at("architectures"), json::array({"BertForSequenceClassification"}));
  EXPECT_EQ(out.at("model_type"), "bert");
  EXPECT_EQ(out.at("custom_key"), json({{"nested", true}}));
  EXPECT_EQ(out.at("id2label"), json({{"0", "LABEL_0"}, {"1", "LABEL_1"}, {"2", "LABEL_2"}}));
  EXPECT_EQ(out.at("label2id"), json({{"LABEL_0", 0}, {"LABEL_1", 1}, {"LABEL_2", 2}}));
  EXPECT_EQ(out.at("num_labels"), 3);
  EXPECT_EQ(out.at("vocab_size"), 100);
  EXPECT_EQ(out.at("hidden_size"), 16);
  EXPECT_EQ(out.at("num_hidden_layers"), 1);
  EXPECT_EQ(out.at("num_attention_heads"), 4);
  EXPECT_EQ(out.at("intermediate_size"), 32);
  EXPECT_EQ(out.at("max_position_embeddings"), 512);
  EXPECT_EQ(out.at("type_vocab_size"), 2);
  EXPECT_EQ(out.at("hidden_act"), "gelu");
  EXPECT_EQ(out.at("pad_token_id"), 0);
  EXPECT_DOUBLE_EQ(out.at("hidden_dropout_prob").get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(out.at("attention_probs_dropout_prob").get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(out.at("layer_norm_eps").get<double>(), 1e-12);
  EXPECT_DOUBLE_EQ(out.at("initializer_range").get<double>(), 0.02);
}

TEST(BertConfigTest, ToJsonKeepsLabelNamesWhileTheyFit) {
  json labels = {{"0", "negative"}, {"1", "positive"}};
  BertConfig config = parse_bert_config(with(minimal_config(), "id2label", labels), "x");
  json out = to_json(config);
  EXPECT_EQ(out.at("id2label"), labels);
  EXPECT_EQ(out.at("label2id"), json({{"negative", 0}, {"positive", 1}}));

  config.num_labels = 3;  // e.g. re-targeted to a new task: the old names no longer apply
  EXPECT_EQ(to_json(config).at("id2label"), json({{"0", "LABEL_0"}, {"1", "LABEL_1"}, {"2", "LABEL_2"}}));
}

TEST(BertConfigTest, RoundTripsThroughJson) {
  BertConfig original = load_bert_config(kTinyConfig);
  original.num_labels = 4;
  original.hidden_dropout_prob = 0.25;
  BertConfig copy = parse_bert_config(to_json(original), "round trip");
  EXPECT_EQ(copy.vocab_size, original.vocab_size);
  EXPECT_EQ(copy.hidden_size, original.hidden_size);
  EXPECT_EQ(copy.num_labels, 4);
  EXPECT_DOUBLE_EQ(copy.hidden_dropout_prob, 0.25);
  EXPECT_EQ(copy.extra.at("problem_type"), "single_label_classification");
  EXPECT_EQ(to_json(copy), to_json(original));
}

TEST(BertConfigTest, ValidateChecksConfigsBuiltInCode) {
  BertConfig config;
  EXPECT_NO_THROW(validate_bert_config(config, "defaults"));
  config.num_attention_heads = 3;
  std::string message = error_message([&] { validate_bert_config(config, "pruned"); });
  EXPECT_NE(message.find("pruned: \"hidden_size\" 128 is not divisible"), std::string::npos) << message;
}

TEST(BertConfigTest, LoadErrorsNameTheFile) {
  std::string missing = error_message([] { load_bert_config("/nonexistent/config.json"); });
  EXPECT_NE(missing.find("/nonexistent/config.json does not exist"), std::string::npos) << missing;

  const fs::path broken = fs::temp_directory_path() / ("whittle-config-" + std::to_string(std::random_device()()) + ".json");
  write_file_atomically(broken, "{\"hidden_size\": 128,");
  std::string invalid = error_message([&] { load_bert_config(broken); });
  fs::remove(broken);
  EXPECT_EQ(invalid.rfind(broken.string() + ": not valid JSON", 0), 0u) << invalid;
}

}  // namespace
}  // namespace whittle::model
