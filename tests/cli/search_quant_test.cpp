// whittle search quant on the fixtures, and its by-name config read back by
// whittle quantize --config.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/checkpoint_fixture.h"
#include "cli/cli_runner.h"
#include "passes/quantize/quantize_config.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json last_json_line(const std::string& text) {
  std::istringstream stream(text);
  std::string last;
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty()) last = line;
  }
  return json::parse(last);
}

std::vector<std::string> search_arguments(const TempDir& dir, const fs::path& base, const fs::path& out) {
  return {"search", "quant", "--from", base.string(), "--out", out.string(), "--data", imdb_fixture().string(),
          "--max-length", "64", "--cache-dir", (dir / "cache").string(), "--validation-size", "2",
          "--widths", "4,8", "--calibration-size", "2", "--fisher-size", "2", "--refine-evaluations", "2",
          "--front-points", "1", "--test-uniform-widths", "8", "--budget-points", "0.5"};
}

TEST(CliSearchQuant, ConfigRoundTripsThroughQuantize) {
  TempDir dir;
  const fs::path base = dir / "base";
  write_tiny_checkpoint(base);
  const fs::path out = dir / "search";
  const RunOptions generous{.timeout = std::chrono::seconds(180)};
  const RunResult search = run_whittle(search_arguments(dir, base, out), dir, generous);
  expect_success(search);
  const json printed = last_json_line(search.out);
  EXPECT_EQ(printed.at("config"), (out / "mixed-config.toml").string());
  EXPECT_TRUE(printed.contains("average_bits"));
  EXPECT_NE(search.err.find("[search 4/8] sensitivity"), std::string::npos) << search.err;
  EXPECT_NE(search.err.find("validation: 2 reviews of the train split (seed 0"), std::string::npos) << search.err;

  const json summary = json::parse(read_text(out / "summary.json"));
  const json& formats = summary.at("formats");
  ASSERT_EQ(formats.size(), 8u * 3u);  // one layer: Q, K, V, attention output, intermediate, output; pooler, classifier

  const fs::path quantized = dir / "quantized";
  const RunResult quantize = run_whittle({"quantize", "--from", base.string(), "--config", (out / "mixed-config.toml").string(),
                                          "--out", quantized.string(), "--data", imdb_fixture().string(),
                                          "--max-length", "64", "--cache-dir", (dir / "cache").string()},
                                         dir, generous);
  expect_success(quantize);
  EXPECT_NE(quantize.err.find("quantized 8 of 8 Linear layers"), std::string::npos) << quantize.err;
  // The checkpoint records the config it was quantized with: every tensor's
  // format is the one the search chose.
  const json whittle = json::parse(read_text(quantized / "whittle.json"));
  const passes::QuantizeConfig recorded = passes::parse_quantize_config(whittle.at("quantize"), "whittle.json");
  for (const auto& [key, format] : formats.items()) {
    const std::string linear = key.substr(0, key.find(':'));
    const std::string tensor = key.substr(key.find(':') + 1);
    auto quantization = passes::quantization_for_layer(recorded, linear);
    ASSERT_TRUE(quantization.has_value()) << linear;
    const passes::FixedPointFormat& got =
        tensor == "input" ? quantization->data_in : (tensor == "weight" ? quantization->weight : quantization->bias);
    EXPECT_EQ(got.width, format.at(0).get<int64_t>()) << key;
    EXPECT_EQ(got.frac_width, format.at(1).get<int64_t>()) << key;
  }

  // The same command resumes: everything is stored, nothing is measured again.
  const std::string results = read_text(out / "results.json");
  const RunResult again = run_whittle(search_arguments(dir, base, out), dir, generous);
  expect_success(again);
  EXPECT_EQ(read_text(out / "results.json"), results);
}

TEST(CliSearchQuant, NegativeBudgetIsRefusedInOneLine) {
  TempDir dir;
  std::vector<std::string> arguments = search_arguments(dir, dir / "missing", dir / "out");
  arguments.back() = "-1";
  expect_one_line_error(run_whittle(arguments, dir), {"--budget-points", "0 to 100"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

}  // namespace
}  // namespace whittle::cli_testing
