// Training and evaluation throughput of BERT-Tiny in whittle (LibTorch C++),
// next to the same step in PyTorch eager mode (bench/pytorch_reference.py),
// measured in one run on the same machine.
//
//   build/throughput [--batch 16] [--length 512] [--steps 10] [--no-python]
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "model/classifier_io.h"
#include "support/bench_support.h"
#include "util/runtime.h"

#ifndef WHITTLE_SOURCE_DIR
#define WHITTLE_SOURCE_DIR "."
#endif

namespace {

using whittle::bench::Clock;
using whittle::bench::seconds_since;

whittle::model::BertConfig bert_tiny() {
  whittle::model::BertConfig config;  // the defaults are BERT-Tiny's
  return config;
}

nlohmann::json run_python(const std::string& script, int64_t batch, int64_t length, int64_t steps, int threads) {
  // The same OpenMP BLAS as whittle, so that the comparison is of the
  // frameworks, not of the BLAS builds.
  std::string command = "LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 " + script +
                        " --batch " + std::to_string(batch) + " --length " + std::to_string(length) + " --steps " +
                        std::to_string(steps) + " --threads " + std::to_string(threads);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return nullptr;
  std::string output;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe.get()) != nullptr) output += buffer;
  try {
    return nlohmann::json::parse(output);
  } catch (const std::exception&) {
    std::cerr << "python reference failed: " << output << "\n";
    return nullptr;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"BERT-Tiny throughput: whittle vs PyTorch eager"};
  int64_t batch = 16, length = 512, steps = 10, mixed_steps = 150;
  int threads = 2;
  bool skip_python = false;
  std::string script = std::string(WHITTLE_SOURCE_DIR) + "/bench/pytorch_reference.py";
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--length", length)->capture_default_str();
  app.add_option("--steps", steps)->capture_default_str();
  app.add_option("--mixed-steps", mixed_steps, "training steps over bucketed mixed lengths, for peak memory")
      ->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_flag("--no-python", skip_python);
  CLI11_PARSE(app, argc, argv);
  whittle::configure_runtime(threads);

  whittle::bench::TrainingStep trainer(whittle::model::new_classifier(bert_tiny(), 0));
  whittle::bench::StepInputs inputs = whittle::bench::random_step_inputs(batch, length);
  for (int i = 0; i < 2; ++i) trainer.step(inputs);
  auto start = Clock::now();
  for (int64_t i = 0; i < steps; ++i) trainer.step(inputs);
  double train_tps = static_cast<double>(batch * length * steps) / seconds_since(start);

  trainer.model->eval();
  double eval_tps = 0;
  {
    c10::InferenceMode inference;
    trainer.model->forward(inputs.ids, inputs.attention);
    start = Clock::now();
    for (int64_t i = 0; i < steps; ++i) trainer.model->forward(inputs.ids, inputs.attention);
    eval_tps = static_cast<double>(batch * length * steps) / seconds_since(start);
  }

  // Peak memory over many steps of different (bucketed) lengths, as in a real epoch.
  trainer.model->train();
  torch::manual_seed(1);
  for (int64_t i = 0; i < mixed_steps; ++i) {
    int64_t bucket = 32 * torch::randint(2, length / 32 + 1, {1}).item<int64_t>();
    trainer.step(whittle::bench::random_step_inputs(batch, bucket));
  }

  nlohmann::json report = {{"batch", batch},
                           {"length", length},
                           {"threads", threads},
                           {"whittle_train_tokens_per_second", train_tps},
                           {"whittle_eval_tokens_per_second", eval_tps},
                           {"peak_rss_mib", whittle::peak_resident_bytes() / (1 << 20)}};
  if (!skip_python) {
    nlohmann::json python = run_python(script, batch, length, steps, threads);
    if (!python.is_null()) {
      report["pytorch_train_tokens_per_second"] = python["train_tokens_per_second"];
      report["pytorch_eval_tokens_per_second"] = python["eval_tokens_per_second"];
      report["train_speedup_vs_pytorch"] = train_tps / python["train_tokens_per_second"].get<double>();
      report["eval_speedup_vs_pytorch"] = eval_tps / python["eval_tokens_per_second"].get<double>();
    }
  }
  std::cout << report.dump(2) << std::endl;
  return 0;
}
