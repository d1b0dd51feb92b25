#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "passes/quantize/quantize_config.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

using nlohmann::json;

const std::filesystem::path kFixtures = std::filesystem::path(WHITTLE_TEST_FIXTURES) / "quantize";

IntegerQuantization uniform(int64_t width, int64_t frac) { return {{width, frac}, {width, frac}, {width, frac}}; }

json integer_section(int64_t width, int64_t frac) {
  return {{"config",
           {{"name", "integer"},
            {"data_in_width", width},
            {"data_in_frac_width", frac},
            {"weight_width", width},
            {"weight_frac_width", frac},
            {"bias_width", width},
            {"bias_frac_width", frac}}}};
}

TEST(QuantizeConfig, ReadsTheQuantizeSectionOfAMaseChConfig) {
  QuantizeConfig config = load_quantize_config(kFixtures / "mase_lab.toml");
  EXPECT_EQ(config.by, QuantizeSelection::type);
  EXPECT_FALSE(config.default_config.has_value());
  ASSERT_EQ(config.sections.count("linear"), 1u);
  EXPECT_EQ(config.sections.at("linear"), uniform(8, 4));
  EXPECT_EQ(quantization_for_layer(config, "bert.pooler.dense"), uniform(8, 4));
}

TEST(QuantizeConfig, ReadsTheShippedExampleConfigs) {
  const std::filesystem::path shipped = std::filesystem::path(WHITTLE_TEST_FIXTURES) / "../../configs/quantize";
  EXPECT_EQ(quantization_for_layer(load_quantize_config(shipped / "int8.toml"), "classifier"), uniform(8, 4));
  EXPECT_EQ(quantization_for_layer(load_quantize_config(shipped / "int4.toml"), "classifier"), uniform(4, 2));
  QuantizeConfig mixed = load_quantize_config(shipped / "mixed_by_regex.toml");
  EXPECT_EQ(quantization_for_layer(mixed, "bert.encoder.layer.1.attention.self.value"), uniform(4, 2));
  EXPECT_EQ(quantization_for_layer(mixed, "bert.encoder.layer.1.attention.output.dense"), uniform(8, 4));
  EXPECT_EQ(quantization_for_layer(mixed, "classifier"), std::nullopt);
}

TEST(QuantizeConfig, ByNameTakesModulePathsAndMaseNodeNames) {
  QuantizeConfig config = load_quantize_config(kFixtures / "by_name.toml");
  EXPECT_EQ(config.by, QuantizeSelection::name);
  IntegerQuantization fallback{{8, 4}, {8, 6}, {8, 4}};
  EXPECT_EQ(config.default_config, fallback);
  EXPECT_EQ(quantization_for_layer(config, "bert.encoder.layer.0.attention.self.query"),
            (IntegerQuantization{{4, 2}, {4, 3}, {4, 2}}));
  EXPECT_EQ(quantization_for_layer(config, "bert.encoder.layer.1.attention.self.query"), fallback);
  EXPECT_EQ(quantization_for_layer(config, "classifier"), std::nullopt);
  EXPECT_EQ(quantization_for_layer(config, "bert.pooler.dense"), (IntegerQuantization{{7, 3}, {12, 6}, {16, 8}}));
}

TEST(QuantizeConfig, ByRegexMatchesWholeNames) {
  QuantizeConfig config = load_quantize_config(kFixtures / "by_regex.json");
  EXPECT_EQ(config.by, QuantizeSelection::regex_name);
  EXPECT_EQ(quantization_for_layer(config, "bert.encoder.layer.1.attention.self.key"), uniform(4, 2));
  EXPECT_EQ(quantization_for_layer(config, "bert.encoder.layer.1.output.dense"), std::nullopt);  // "name": null
  EXPECT_EQ(quantization_for_layer(config, "bert.encoder.layer.0.attention.output.dense"), std::nullopt);
  EXPECT_EQ(quantization_for_layer(config, "bert.pooler.dense"), uniform(16, 8));
  // A partial match is no match: "classifier" is not "...dense".
  EXPECT_EQ(quantization_for_layer(config, "classifier"), uniform(16, 8));
}

// Mase's regex_name matches fx node names, the module path with dots
// replaced by underscores; whittle takes a pattern written either way.
TEST(QuantizeConfig, ByRegexAlsoMatchesMaseNodeNames) {
  json document = {{"by", "regex_name"},
                   {"default", integer_section(16, 8)},
                   {"bert_encoder_layer_[0-9]+_attention_self_(query|key)", integer_section(4, 2)}};
  QuantizeConfig config = parse_quantize_config(document, "mase.json");
  EXPECT_EQ(quantization_for_layer(config, "bert.encoder.layer.1.attention.self.key"), uniform(4, 2));
  EXPECT_EQ(quantization_for_layer(config, "bert.encoder.layer.1.attention.self.value"), uniform(16, 8));
}

// Mase's quantize pass reads every frac width; the error says what the lab uses.
TEST(QuantizeConfig, AMissingFracWidthIsAnErrorAsInMase) {
  json document = {{"by", "type"}, {"default", integer_section(8, 4)}};
  document["default"]["config"].erase("weight_frac_width");
  try {
    parse_quantize_config(document, "my/config.json");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("default.config.weight_frac_width is missing"), std::string::npos) << message;
    EXPECT_NE(message.find("weight_frac_width = 4"), std::string::npos) << message;
  }
}

TEST(QuantizeConfig, RejectsALayerThatTwoPatternsSelect) {
  json document = {{"by", "regex_name"}, {"default", integer_section(8, 4)}, {".*query", integer_section(4, 2)},
                   {"bert.*", integer_section(6, 3)}};
  QuantizeConfig config = parse_quantize_config(document, "test.json");
  EXPECT_EQ(quantization_for_layer(config, "bert.encoder.layer.0.attention.self.key"), uniform(6, 3));
  EXPECT_THROW(quantization_for_layer(config, "bert.encoder.layer.0.attention.self.query"), Error);
}

TEST(QuantizeConfig, RoundTripsThroughJson) {
  for (const auto* fixture : {"mase_lab.toml", "by_name.toml", "by_regex.json"}) {
    QuantizeConfig config = load_quantize_config(kFixtures / fixture);
    json stored = to_json(config);
    QuantizeConfig restored = parse_quantize_config(stored, "whittle.json");
    EXPECT_EQ(restored.by, config.by) << fixture;
    EXPECT_EQ(restored.default_config, config.default_config) << fixture;
    EXPECT_EQ(restored.sections, config.sections) << fixture;
    EXPECT_EQ(to_json(restored), stored) << fixture;
  }
  json lab = to_json(load_quantize_config(kFixtures / "mase_lab.toml"));
  EXPECT_EQ(lab, json::parse(R"({"by": "type", "default": {"config": {"name": "NA"}},
    "linear": {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4, "weight_width": 8,
                          "weight_frac_width": 4, "bias_width": 8, "bias_frac_width": 4}}})"));
}

TEST(QuantizeConfig, BuildsAUniformConfigFromTheCommandLine) {
  QuantizeConfig eight = uniform_quantize_config(8);
  EXPECT_EQ(quantization_for_layer(eight, "classifier"), uniform(8, 4));
  EXPECT_EQ(quantization_for_layer(uniform_quantize_config(5), "x"), uniform(5, 2));
  EXPECT_EQ(quantization_for_layer(uniform_quantize_config(6, 6), "x"), uniform(6, 6));
  EXPECT_EQ(quantization_for_layer(uniform_quantize_config(4, 0), "x"), uniform(4, 0));
  // The one format also quantizes the inputs, so its frac width stays within the width.
  EXPECT_THROW(uniform_quantize_config(6, 7), Error);
  EXPECT_THROW(uniform_quantize_config(4, -1), Error);
  EXPECT_THROW(uniform_quantize_config(0), Error);
  EXPECT_THROW(uniform_quantize_config(33), Error);
  EXPECT_THROW(uniform_quantize_config(8, 500), Error);
}

// Each broken document and a fragment its error message must contain.
struct BadConfig {
  std::string what;
  json document;
  std::string fragment;
};

std::vector<BadConfig> bad_configs() {
  json good = {{"by", "type"}, {"default", integer_section(8, 4)}};
  auto with = [&](const std::string& key, const json& value) {
    json document = good;
    document["default"]["config"][key] = value;
    return document;
  };
  auto without = [&](const std::string& key) {
    json document = good;
    document["default"]["config"].erase(key);
    return document;
  };
  json no_by = good;
  no_by.erase("by");
  json bad_by = good;
  bad_by["by"] = "kind";
  json other_type = good;
  other_type["relu"] = integer_section(8, 4);
  json no_config = good;
  no_config["linear"] = {{"name", "integer"}};
  json extra_section_key = good;
  extra_section_key["linear"] = integer_section(8, 4);
  extra_section_key["linear"]["extra"] = 1;
  json bad_regex = {{"by", "regex_name"}, {"default", integer_section(8, 4)}, {"bert.(", integer_section(4, 2)}};
  json report_not_bool = good;
  report_not_bool["report"] = "yes";
  json whole_ch_without_quantize = {{"model", "toy"}, {"passes", {{"prune", json::object()}}}};
  json whole_ch_typo = {{"passes", {{"quantize", good}}}};
  whole_ch_typo["passes"]["quantize"]["default"]["config"]["bias_widht"] = 8;
  return {
      {"unknown key", with("weight_widht", 8), "default.config.weight_widht is not a known key"},
      {"missing width", without("bias_width"), "default.config.bias_width is missing"},
      {"missing name", without("name"), "default.config.name is missing"},
      {"zero width", with("weight_width", 0), "default.config.weight_width must be an integer from 1 to 32, got"},
      {"negative width", with("data_in_width", -3), "default.config.data_in_width must be an integer from 1 to 32"},
      {"wide width", with("bias_width", 33), "default.config.bias_width must be an integer from 1 to 32"},
      {"huge width", with("bias_width", 18446744073709551615ull), "default.config.bias_width must be an integer"},
      {"float width", with("weight_width", 8.0), "got a float (8.0)"},
      {"string width", with("weight_width", "8"), "got a string (\"8\")"},
      {"boolean width", with("weight_width", true), "got a boolean (true)"},
      {"frac range", with("weight_frac_width", 200), "default.config.weight_frac_width must be an integer from 0 to 127"},
      {"input frac above width", with("data_in_frac_width", 9), "default.config.data_in_frac_width must be an integer from 0 to 8, got an integer (9)"},
      {"negative frac", with("bias_frac_width", -1), "default.config.bias_frac_width must be an integer from 0 to 127"},
      {"float frac", with("bias_frac_width", 2.5), "default.config.bias_frac_width must be an integer"},
      {"quantizer name", with("name", "minifloat_ieee"), "unsupported quantizer a string (\"minifloat_ieee\") (supported: \"integer\""},
      {"missing by", no_by, "by is missing"},
      {"unknown by", bad_by, "by must be \"type\", \"name\" or \"regex_name\""},
      {"other layer type", other_type, "relu is not a layer type whittle quantizes"},
      {"section without config", no_config, "linear.name is not a known key"},
      {"extra section key", extra_section_key, "linear.extra is not a known key"},
      {"invalid regex", bad_regex, "bert.( is not a valid regular expression"},
      {"report not boolean", report_not_bool, "report must be true or false"},
      {"ch config without quantize", whole_ch_without_quantize, "passes.quantize is missing"},
      {"ch config typo", whole_ch_typo, "passes.quantize.default.config.bias_widht is not a known key"},
      {"not a table", json::array({1, 2}), "(top level) must be a table"},
  };
}

TEST(QuantizeConfig, RejectsBadConfigsNamingTheKeyAndOrigin) {
  for (const auto& bad : bad_configs()) {
    try {
      parse_quantize_config(bad.document, "my/config.json");
      ADD_FAILURE() << "no error for " << bad.what;
    } catch (const Error& error) {
      std::string message = error.what();
      EXPECT_NE(message.find(bad.fragment), std::string::npos) << bad.what << ": " << message;
      EXPECT_EQ(message.rfind("my/config.json: ", 0), 0u) << bad.what << ": " << message;
    }
  }
}

TEST(QuantizeConfig, NaSectionsNeedNoWidths) {
  json document = {{"by", "name"}, {"default", {{"config", {{"name", "NA"}}}}}, {"classifier", integer_section(6, 2)}};
  QuantizeConfig config = parse_quantize_config(document, "x");
  EXPECT_EQ(quantization_for_layer(config, "bert.pooler.dense"), std::nullopt);
  EXPECT_EQ(quantization_for_layer(config, "classifier"), uniform(6, 2));
  // No default section at all also means unquantized.
  QuantizeConfig without_default = parse_quantize_config({{"by", "type"}}, "x");
  EXPECT_EQ(quantization_for_layer(without_default, "classifier"), std::nullopt);
}

class QuantizeConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("whittle_quantize_config_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::filesystem::path write(const std::string& name, const std::string& text) {
    std::filesystem::path path = directory_ / name;
    std::ofstream(path) << text;
    return path;
  }

  std::string error_of(const std::filesystem::path& path) {
    try {
      load_quantize_config(path);
    } catch (const Error& error) {
      return error.what();
    }
    return "(no error)";
  }

  std::filesystem::path directory_;
};

TEST_F(QuantizeConfigFiles, TomlErrorsNameTheFileAndKey) {
  auto float_width = write("float.toml", "by = \"type\"\n[linear.config]\nname = \"integer\"\ndata_in_width = 8.0\n");
  std::string message = error_of(float_width);
  EXPECT_NE(message.find(float_width.string() + ": linear.config.data_in_width must be an integer"), std::string::npos)
      << message;

  auto broken = write("broken.toml", "by = \"type\"\n[linear.config\nname = 1\n");
  message = error_of(broken);
  EXPECT_NE(message.find(broken.string() + ":2:"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid TOML"), std::string::npos) << message;

  // An unquoted dotted layer name makes nested TOML tables, not one section.
  auto dotted = write("dotted.toml", "by = \"name\"\n[bert.pooler.dense.config]\nname = \"NA\"\n");
  message = error_of(dotted);
  EXPECT_NE(message.find("bert.pooler is not a known key"), std::string::npos) << message;
}

TEST_F(QuantizeConfigFiles, JsonErrorsNameTheFile) {
  auto broken = write("broken.json", "{\"by\": \"type\",");
  std::string message = error_of(broken);
  EXPECT_NE(message.find(broken.string() + ": invalid JSON"), std::string::npos) << message;
  auto unknown = write("unknown.json", R"({"by": "type", "linear": {"config": {"name": "integer", "widht": 8}}})");
  message = error_of(unknown);
  EXPECT_NE(message.find(unknown.string() + ": linear.config.widht is not a known key"), std::string::npos) << message;
}

TEST_F(QuantizeConfigFiles, RejectsMissingFilesAndOtherFormats) {
  EXPECT_NE(error_of(directory_ / "absent.toml").find("quantize config not found"), std::string::npos);
  auto yaml = write("config.yaml", "by: type\n");
  EXPECT_NE(error_of(yaml).find("must be a .toml or .json file"), std::string::npos);
}

}  // namespace
}  // namespace whittle::passes
