// Cost of Mase-style fixed-point quantization in whittle:
//  1. the fused quantizer against the composed torch ops it replaces, on an
//     activation-sized tensor [16, 512, 128];
//  2. BERT-Tiny training steps (random init, one fixed batch) with and without
//     quantize_pass at 8 bits;
//  3. evaluation forward passes (no gradients) of the same two models.
// The two models take turns step by step so that both see the same
// background load; the report gives each round and the ranges.
//
//   build/quantized_throughput [--batch 16] [--length 512] [--steps 5] [--rounds 5] [--width 8]
#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "model/classifier_io.h"
#include "passes/quantize/fixed_point.h"
#include "passes/quantize/quantize_pass.h"
#include "support/bench_support.h"
#include "util/runtime.h"

namespace {

using whittle::bench::Clock;
using whittle::bench::milliseconds_per_call;
using whittle::bench::range_of;
using whittle::bench::seconds_since;
using whittle::bench::to_json;

nlohmann::json quantizer_timing(int rounds) {
  torch::manual_seed(0);
  torch::Tensor x = torch::randn({16, 512, 128}) * 3;
  auto fused = [&] { return whittle::passes::fixed_point_quantize(x, 8, 4); };
  auto composed = [&] { return whittle::passes::fixed_point_quantize_reference(x, 8, 4); };
  for (int i = 0; i < 5; ++i) fused(), composed();
  std::vector<double> fused_ms, composed_ms;
  for (int round = 0; round < rounds; ++round) {  // interleaved, for the same load
    fused_ms.push_back(milliseconds_per_call(fused, 20));
    composed_ms.push_back(milliseconds_per_call(composed, 20));
  }
  std::vector<double> speedups;
  for (size_t i = 0; i < fused_ms.size(); ++i) speedups.push_back(composed_ms[i] / fused_ms[i]);
  return {{"shape", {16, 512, 128}},
          {"fused_ms", to_json(range_of(fused_ms))},
          {"composed_ms", to_json(range_of(composed_ms))},
          {"speedup", to_json(range_of(speedups))}};
}

using Inputs = whittle::bench::StepInputs;
using Trainer = whittle::bench::TrainingStep;

// Seconds of one no-gradient forward pass, as the evaluator runs it.
double timed_forward(whittle::model::BertForSequenceClassification& model, const Inputs& inputs) {
  torch::NoGradGuard no_grad;
  auto start = Clock::now();
  auto logits = model->forward(inputs.ids, inputs.attention);
  (void)logits.sum().item<float>();
  return seconds_since(start);
}

nlohmann::json evaluation_timing(whittle::model::BertForSequenceClassification baseline,
                                 whittle::model::BertForSequenceClassification quantized, const Inputs& inputs,
                                 int rounds, int64_t passes) {
  baseline->eval();
  quantized->eval();
  for (int i = 0; i < 2; ++i) timed_forward(baseline, inputs), timed_forward(quantized, inputs);
  const double tokens = static_cast<double>(inputs.ids.numel() * passes);
  std::vector<double> baseline_tps, quantized_tps, ratios;
  for (int round = 0; round < rounds; ++round) {
    double baseline_seconds = 0, quantized_seconds = 0;
    for (int64_t i = 0; i < passes; ++i) {  // alternating, as for training
      baseline_seconds += timed_forward(baseline, inputs);
      quantized_seconds += timed_forward(quantized, inputs);
    }
    baseline_tps.push_back(tokens / baseline_seconds);
    quantized_tps.push_back(tokens / quantized_seconds);
    ratios.push_back(quantized_tps.back() / baseline_tps.back());
  }
  return {{"passes_per_round", passes},
          {"float_tokens_per_second", baseline_tps},
          {"quantized_tokens_per_second", quantized_tps},
          {"quantized_over_float", ratios},
          {"ratio_range", to_json(range_of(ratios))}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fixed-point quantization: fused quantizer speed and quantized training throughput"};
  int64_t batch = 16, length = 512, steps = 5, width = 8;
  int rounds = 5, threads = 2;
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--length", length)->capture_default_str();
  app.add_option("--steps", steps, "training steps per round")->capture_default_str();
  app.add_option("--rounds", rounds)->capture_default_str();
  app.add_option("--width", width, "bits of the quantized model (frac width = width / 2)")->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  whittle::configure_runtime(threads);

  nlohmann::json report = {{"threads", threads}, {"quantizer", quantizer_timing(rounds)}};

  whittle::model::BertConfig bert_tiny;  // the defaults are BERT-Tiny's
  Trainer baseline(whittle::model::new_classifier(bert_tiny, 0));
  Trainer quantized(whittle::model::new_classifier(bert_tiny, 0));
  whittle::passes::quantize_pass(quantized.model, whittle::passes::uniform_quantize_config(width));
  Inputs inputs = whittle::bench::random_step_inputs(batch, length);
  for (int i = 0; i < 2; ++i) baseline.step(inputs), quantized.step(inputs);

  // Steps alternate between the models, so that a burst of background load
  // slows both alike; a round's figure is its total tokens over total time.
  std::vector<double> baseline_tps, quantized_tps, ratios, baseline_cpu_tps, quantized_cpu_tps, cpu_ratios;
  const double tokens = static_cast<double>(batch * length * steps);
  for (int round = 0; round < rounds; ++round) {
    whittle::bench::StepTime baseline_time, quantized_time;
    for (int64_t i = 0; i < steps; ++i) {
      baseline_time += baseline.timed_step(inputs);
      quantized_time += quantized.timed_step(inputs);
    }
    baseline_tps.push_back(tokens / baseline_time.wall);
    quantized_tps.push_back(tokens / quantized_time.wall);
    ratios.push_back(quantized_tps.back() / baseline_tps.back());
    baseline_cpu_tps.push_back(tokens / baseline_time.cpu);
    quantized_cpu_tps.push_back(tokens / quantized_time.cpu);
    cpu_ratios.push_back(quantized_cpu_tps.back() / baseline_cpu_tps.back());
  }
  report["training"] = {{"batch", batch},
                        {"length", length},
                        {"width", width},
                        {"steps_per_round", steps},
                        {"float_tokens_per_second", baseline_tps},
                        {"quantized_tokens_per_second", quantized_tps},
                        {"quantized_over_float", ratios},
                        {"ratio_range", to_json(range_of(ratios))},
                        {"float_tokens_per_cpu_second", baseline_cpu_tps},
                        {"quantized_tokens_per_cpu_second", quantized_cpu_tps},
                        {"cpu_quantized_over_float", cpu_ratios},
                        {"cpu_ratio_range", to_json(range_of(cpu_ratios))}};
  report["evaluation"] = evaluation_timing(baseline.model, quantized.model, inputs, rounds, 4 * steps);
  std::cout << report.dump(2) << std::endl;
  return 0;
}
