// Why fixed-point PTQ fails where it fails: for every Linear of a checkpoint,
// the share of weights and of inputs that the quantizer of each width rounds
// to zero or clamps, with the magnitudes behind it. Inputs are recorded while
// the float model evaluates a balanced subset of the IMDb test split.
//
//   build/quant_ranges --from DIR --data aclImdb_v1.tar.gz [--reviews 200] [--widths 4,6,8,10] [--threads N]
#include <cmath>
#include <iostream>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "data/imdb.h"
#include "data/tokenized.h"
#include "experiments/compressed_model.h"
#include "model/linear.h"
#include "passes/quantize/fixed_point.h"
#include "train/evaluate.h"
#include "util/runtime.h"

namespace {

using nlohmann::json;
using whittle::passes::FixedPointFormat;

struct Counts {
  int64_t elements = 0;
  double max_magnitude = 0.0;
  std::map<int64_t, int64_t> zeroed, clamped;  // by width, with frac = width / 2

  void add(const torch::Tensor& values, const std::vector<int64_t>& widths) {
    torch::Tensor x = values.detach().to(torch::kFloat32).flatten();
    elements += x.numel();
    max_magnitude = std::max(max_magnitude, x.abs().max().item<double>());
    for (int64_t width : widths) {
      FixedPointFormat format{width, width / 2};
      torch::Tensor q = whittle::passes::fixed_point_quantize(x, format);
      zeroed[width] += ((q == 0) & (x != 0)).sum().item<int64_t>();
      double limit = std::ldexp(1.0, static_cast<int>(width - 1 - width / 2));
      clamped[width] += (x.abs() > limit).sum().item<int64_t>();
    }
  }

  json to_json() const {
    json out = {{"elements", elements}, {"max_abs", max_magnitude}};
    for (const auto& [width, count] : zeroed) {
      out["w" + std::to_string(width)] = {{"zeroed", static_cast<double>(count) / static_cast<double>(elements)},
                                          {"clamped", static_cast<double>(clamped.at(width)) / static_cast<double>(elements)}};
    }
    return out;
  }
};

// Records the inputs a Linear sees, changing nothing.
class InputRecorder : public whittle::model::LinearTransformImpl {
 public:
  explicit InputRecorder(std::vector<int64_t> widths) : widths_(std::move(widths)) {}
  std::string kind() const override { return "record"; }
  json describe() const override { return counts_.to_json(); }
  torch::Tensor transform_input(const torch::Tensor& input) override {
    counts_.add(input, widths_);
    return input;
  }

 private:
  std::vector<int64_t> widths_;
  Counts counts_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"share of weights and Linear inputs that fixed-point quantization zeroes or clamps"};
  std::string from, source;
  int64_t reviews = 200, max_length = 512;
  int threads = 0;
  std::vector<int64_t> widths = {4, 6, 8, 10};
  app.add_option("--from", from, "checkpoint")->required();
  app.add_option("--data", source, "IMDb (aclImdb_v1.tar.gz or folder)")->required();
  app.add_option("--reviews", reviews, "balanced subset of the test split")->capture_default_str();
  app.add_option("--max-length", max_length)->capture_default_str();
  app.add_option("--widths", widths)->delimiter(',')->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (default: all cores)");
  CLI11_PARSE(app, argc, argv);
  whittle::configure_runtime(threads);

  auto loaded = whittle::experiments::load_compressed(from, 0);
  auto tokenizer = whittle::text::Tokenizer::load(from);
  auto test = whittle::data::balanced_subset(whittle::data::read_imdb(source, whittle::data::Split::test), reviews, 0);
  auto dataset = whittle::data::tokenize_reviews(test, tokenizer, max_length);

  json report = json::object();
  std::vector<std::pair<std::string, std::shared_ptr<InputRecorder>>> recorders;
  for (auto& [name, linear] : whittle::model::find_linears(*loaded.model)) {
    Counts weights;
    weights.add(linear->weight, widths);
    report[name]["weight"] = weights.to_json();
    auto recorder = std::make_shared<InputRecorder>(widths);
    linear->attach(recorder);
    recorders.emplace_back(name, recorder);
  }
  std::ostringstream quiet;
  auto result = whittle::train::evaluate(loaded.model, dataset, {}, quiet);
  for (const auto& [name, recorder] : recorders) report[name]["input"] = recorder->describe();
  std::cout << json({{"checkpoint", from}, {"reviews", dataset.size()}, {"float_accuracy", result.accuracy},
                     {"layers", report}})
                   .dump(1)
            << std::endl;
  return 0;
}
