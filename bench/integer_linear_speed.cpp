// Speed of one integer Linear (quantize + integer product + dequantize) at
// BERT-Tiny's shapes, against torch::linear on the same float input, for
// tuning the kernels in isolation from the rest of the model:
//   build/integer_linear_speed [--rows 8192] [--rounds 15] [--threads 1] [--isa avx2]
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <iomanip>
#include <iostream>
#include <vector>

#include "deploy/integer_linear.h"
#include "util/runtime.h"

namespace {

using whittle::deploy::IntegerLinear;
using whittle::deploy::IntegerPrecision;
using whittle::deploy::KernelIsa;

struct Shape {
  int64_t in, out;
};

// The fastest of the rounds, in CPU time of the process: on a shared VM wall
// time also counts the time the vCPU was not running, and the fastest round
// is the one least disturbed.
template <typename Run>
double fastest_cpu_seconds(int rounds, Run&& run) {
  double fastest = std::numeric_limits<double>::infinity();
  for (int round = 0; round < rounds; ++round) {
    const double start = whittle::process_cpu_seconds();
    run();
    fastest = std::min(fastest, whittle::process_cpu_seconds() - start);
  }
  return fastest;
}

KernelIsa parse_isa(const std::string& name) {
  if (name == "scalar") return KernelIsa::scalar;
  if (name == "avx2") return KernelIsa::avx2;
  if (name == "avx512-vnni") return KernelIsa::avx512_vnni;
  return whittle::deploy::best_kernel_isa();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 8192;
  int rounds = 15;
  int threads = 1;
  int max_weight = 2;  // BERT-Tiny's 8-bit weights (4 fractional bits) are mostly within 2 steps of zero
  std::string isa_name = "best";
  CLI::App app{"Integer Linear kernels against torch::linear at BERT-Tiny's shapes"};
  app.add_option("--rows", rows, "input rows (tokens)")->capture_default_str();
  app.add_option("--rounds", rounds)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--max-weight", max_weight, "weights are integers in [-max, max]")->capture_default_str();
  app.add_option("--isa", isa_name, "best, scalar, avx2 or avx512-vnni")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  whittle::configure_runtime(threads);
  torch::NoGradGuard no_grad;
  const KernelIsa isa = parse_isa(isa_name);
  const whittle::passes::FixedPointFormat format{8, 4};

  std::cout << "isa " << whittle::deploy::to_string(isa) << ", " << rows << " rows, " << threads << " thread(s)\n";
  std::cout << "in x out  float CPU ms  int8 CPU ms  int8 GMAC/s  faster\n";
  for (Shape shape : {Shape{128, 128}, Shape{128, 512}, Shape{512, 128}}) {
    torch::manual_seed(0);
    torch::Tensor weight_integers = torch::randint(-max_weight, max_weight + 1, {shape.out, shape.in}, torch::kInt32);
    torch::Tensor bias = torch::randn({shape.out});
    torch::Tensor float_weight = weight_integers.to(torch::kFloat32) / 16.0;
    torch::Tensor input = torch::randn({rows, shape.in});
    IntegerLinear linear(IntegerPrecision::int8, weight_integers, 4, format, bias, isa);
    linear.forward(input);  // warm-up
    double float_seconds = fastest_cpu_seconds(rounds, [&] { torch::linear(input, float_weight, bias); });
    double integer_seconds = fastest_cpu_seconds(rounds, [&] { linear.forward(input); });
    const double macs = static_cast<double>(rows * shape.in * shape.out);
    std::cout << std::setw(4) << shape.in << " x " << std::setw(3) << shape.out << std::fixed << std::setprecision(3)
              << std::setw(14) << 1e3 * float_seconds << std::setw(13) << 1e3 * integer_seconds << std::setw(12)
              << std::setprecision(1) << macs / integer_seconds / 1e9 << std::setw(9) << std::setprecision(2)
              << float_seconds / integer_seconds << "\n";
  }
}
