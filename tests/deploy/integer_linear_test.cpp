#include "deploy/integer_linear.h"

#include <gtest/gtest.h>

#include <cmath>

#include "passes/quantize/fixed_point.h"
#include "util/error.h"

namespace whittle::deploy {
namespace {

std::vector<KernelIsa> isas_of_this_cpu() {
  std::vector<KernelIsa> isas = {KernelIsa::scalar};
  for (KernelIsa isa : {KernelIsa::avx2, KernelIsa::avx512_vnni}) {
    if (cpu_supports(isa)) isas.push_back(isa);
  }
  return isas;
}

struct Case {
  int64_t rows, in, out;
};

struct Operands {
  torch::Tensor x, weight;
};

// An input `spread` times standard normal and integer weights in [low, high),
// drawn in that order after seeding torch's generator, so that a test drawing
// its bias next sees the same values on every run.
Operands random_operands(int64_t seed, Case c, double spread, int64_t low, int64_t high) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({c.rows, c.in}) * spread;
  return {x, torch::randint(low, high, {c.out, c.in}, torch::kInt32)};
}

// The integers of the fixed-point quantizer, multiplied exactly in int64,
// converted to float32 and scaled with one rounding of the bias addition,
// as the kernels do (the product with the power of two is exact).
torch::Tensor exact_reference(const torch::Tensor& x, const torch::Tensor& weight, passes::FixedPointFormat input,
                              int64_t weight_frac, const torch::Tensor& bias) {
  torch::Tensor x_integers = (passes::fixed_point_quantize(x, input) * std::ldexp(1.0, input.frac_width)).to(torch::kInt64);
  torch::Tensor sums = torch::mm(x_integers, weight.to(torch::kInt64).t());
  const double scale = std::ldexp(1.0, -(input.frac_width + weight_frac));
  return (sums.to(torch::kFloat32).to(torch::kFloat64) * scale + bias.to(torch::kFloat64)).to(torch::kFloat32);
}

TEST(IntegerLinear, Int8MatchesExactIntegerArithmeticOnEveryShapeAndIsa) {
  const passes::FixedPointFormat input{8, 5};
  const int64_t weight_frac = 6;
  for (Case c : {Case{1, 3, 2}, Case{5, 32, 64}, Case{6, 33, 65}, Case{7, 130, 130}, Case{13, 64, 2}, Case{100, 128, 192}}) {
    auto [x, weight] = random_operands(c.rows * 1000 + c.in, c, 3, -128, 128);  // some values clamp at ±4
    torch::Tensor bias = torch::randn({c.out});
    torch::Tensor expected = exact_reference(x, weight, input, weight_frac, bias);
    for (KernelIsa isa : isas_of_this_cpu()) {
      IntegerLinear linear(IntegerPrecision::int8, weight, weight_frac, input, bias, isa);
      EXPECT_TRUE(torch::equal(linear.forward(x), expected))
          << to_string(isa) << " rows " << c.rows << " in " << c.in << " out " << c.out;
    }
  }
}

// Small weights, as fixed-point BERT weights are (|W| <= 3 at 8 bits), let
// the AVX2 kernel add many groups in int16 lanes before widening; the
// largest weights it takes (±64) allow one group at a time.
TEST(IntegerLinear, Avx2Int8IsExactFromSmallWeightsToItsLimit) {
  if (!cpu_supports(KernelIsa::avx2)) GTEST_SKIP() << "no AVX2";
  const passes::FixedPointFormat input{8, 4};
  for (int64_t largest : {1, 3, 12, 64}) {
    for (Case c : {Case{1, 3, 2}, Case{5, 200, 24}, Case{9, 512, 130}, Case{64, 128, 128}}) {
      auto [x, weight] = random_operands(largest * 7 + c.in, c, 4, -largest, largest + 1);
      weight[0].fill_(static_cast<int32_t>(-largest));  // one column at the bound throughout
      x[0].fill_(-8.0);  // X + 128 = 0 here, 255 on the next row
      if (c.rows > 1) x[1].fill_(8.0);
      torch::Tensor bias = torch::randn({c.out});
      IntegerLinear linear(IntegerPrecision::int8, weight, 4, input, bias, KernelIsa::avx2);
      EXPECT_EQ(linear.isa(), KernelIsa::avx2);
      EXPECT_TRUE(torch::equal(linear.forward(x), exact_reference(x, weight, input, 4, bias)))
          << "max|W| " << largest << " rows " << c.rows << " in " << c.in << " out " << c.out;
    }
  }
}

TEST(IntegerLinear, Avx2Int8FallsBackToScalarWhereItCouldSaturate) {
  if (!cpu_supports(KernelIsa::avx2)) GTEST_SKIP() << "no AVX2";
  const passes::FixedPointFormat input{8, 4};
  torch::Tensor weight = torch::full({3, 16}, 65, torch::kInt32);
  torch::Tensor x = torch::full({2, 16}, 7.9);
  torch::Tensor bias = torch::zeros({3});
  IntegerLinear linear(IntegerPrecision::int8, weight, 4, input, bias, KernelIsa::avx2);
  EXPECT_EQ(linear.isa(), KernelIsa::scalar);
  EXPECT_TRUE(torch::equal(linear.forward(x), exact_reference(x, weight, input, 4, bias)));
}

TEST(IntegerLinear, Int16MatchesExactIntegerArithmeticOnEveryShapeAndIsa) {
  const passes::FixedPointFormat input{16, 8};
  for (Case c : {Case{1, 3, 2}, Case{6, 33, 65}, Case{7, 129, 130}, Case{50, 128, 64}}) {
    // x: some values clamp at ±128. Weights: rows summing to at most 2^14 in
    // magnitude, so that 2^15 · that < 2^31, but single weights far beyond 8 bits.
    auto [x, weight] = random_operands(c.rows * 1000 + c.in, c, 60, -16000 / c.in, 16000 / c.in + 1);
    weight[0][0] = 3000;
    torch::Tensor bias = torch::randn({c.out});
    torch::Tensor expected = exact_reference(x, weight, input, 8, bias);
    ASSERT_EQ(IntegerLinear::precision_for(weight, input, {16, 8}), IntegerPrecision::int16);
    for (KernelIsa isa : isas_of_this_cpu()) {
      IntegerLinear linear(IntegerPrecision::int16, weight, 8, input, bias, isa);
      EXPECT_TRUE(torch::equal(linear.forward(x), expected))
          << to_string(isa) << " rows " << c.rows << " in " << c.in << " out " << c.out;
    }
  }
}

TEST(IntegerLinear, ReproducesTheFloatSimulationBitForBit) {
  torch::manual_seed(4);
  const passes::FixedPointFormat input{8, 4}, weight_format{8, 4}, bias_format{8, 4};
  torch::Tensor x = torch::randn({3, 17, 128}) * 4;
  torch::Tensor weight = passes::fixed_point_quantize(torch::randn({512, 128}), weight_format);
  torch::Tensor bias = passes::fixed_point_quantize(torch::randn({512}), bias_format);
  torch::Tensor simulated = torch::linear(passes::fixed_point_quantize(x, input), weight, bias);
  torch::Tensor integers = (weight * 16).to(torch::kInt32);
  for (KernelIsa isa : isas_of_this_cpu()) {
    IntegerLinear linear(IntegerPrecision::int8, integers, weight_format.frac_width, input, bias, isa);
    EXPECT_TRUE(torch::equal(linear.forward(x), simulated)) << to_string(isa);
    // Non-contiguous input (the CLS-only query) computes the same.
    EXPECT_TRUE(torch::equal(linear.forward(x.narrow(1, 0, 1)), simulated.narrow(1, 0, 1))) << to_string(isa);
  }
}

TEST(IntegerLinear, ScaledOutputsAreTheOutputsTimesThePowerOfTwoBitForBit) {
  const passes::FixedPointFormat input{8, 4};
  auto [x, integers] = random_operands(8, {40, 128, 128}, 4, -20, 21);
  torch::Tensor bias = torch::randn({128});
  for (KernelIsa isa : isas_of_this_cpu()) {
    IntegerLinear plain(IntegerPrecision::int8, integers, 4, input, bias, isa);
    IntegerLinear scaled(IntegerPrecision::int8, integers, 4, input, bias, isa);
    scaled.scale_outputs(-3);
    torch::Tensor expected = plain.forward(x) * (1.0 / std::sqrt(64.0));
    EXPECT_TRUE(torch::equal(scaled.forward(x), expected)) << to_string(isa);
  }
}

TEST(IntegerLinear, ChainedLayersGiveWhatTheyGiveOneAfterTheOther) {
  torch::manual_seed(6);
  const passes::FixedPointFormat format{8, 4};
  torch::Tensor up = torch::randint(-20, 21, {96, 40}, torch::kInt32);
  torch::Tensor down = torch::randint(-20, 21, {24, 96}, torch::kInt32);
  torch::Tensor up_bias = torch::randn({96}), down_bias = torch::randn({24});
  torch::Tensor x = torch::randn({3, 70, 40}) * 2;  // 210 rows: more than one block, a partial last one
  for (KernelIsa isa : isas_of_this_cpu()) {
    for (IntegerPrecision precision : {IntegerPrecision::int8, IntegerPrecision::int16}) {
      IntegerLinear first(precision, up, 4, format, up_bias, isa), second(precision, down, 4, format, down_bias, isa);
      torch::Tensor expected = second.forward(torch::gelu(first.forward(x)));
      torch::Tensor chained =
          IntegerLinear::forward_chain(first, [](torch::Tensor& tile) { torch::gelu_(tile); }, second, x);
      EXPECT_EQ(chained.sizes(), expected.sizes());
      EXPECT_TRUE(torch::equal(chained, expected)) << to_string(isa) << " " << to_string(precision);
    }
  }
}

// Query, key and value from one quantization of the hidden states: the
// layers differ in width, weights, bias and (the query's) output scale.
TEST(IntegerLinear, SharedInputGivesEachLayersOwnOutputBitForBit) {
  torch::manual_seed(9);
  const passes::FixedPointFormat format{8, 4};
  torch::Tensor x = torch::randn({3, 70, 40}) * 4;  // 210 rows: more than one block, a partial last one
  for (KernelIsa isa : isas_of_this_cpu()) {
    for (IntegerPrecision precision : {IntegerPrecision::int8, IntegerPrecision::int16}) {
      std::vector<IntegerLinear> layers;
      for (int64_t out : {64, 24, 130}) {
        layers.emplace_back(precision, torch::randint(-20, 21, {out, 40}, torch::kInt32), 4, format, torch::randn({out}),
                            isa);
      }
      layers.front().scale_outputs(-3);
      std::vector<torch::Tensor> shared = IntegerLinear::forward_shared({&layers[0], &layers[1], &layers[2]}, x);
      ASSERT_EQ(shared.size(), layers.size());
      for (size_t i = 0; i < layers.size(); ++i) {
        torch::Tensor expected = layers[i].forward(x);
        EXPECT_EQ(shared[i].sizes(), expected.sizes());
        EXPECT_TRUE(torch::equal(shared[i], expected)) << to_string(isa) << " " << to_string(precision) << " " << i;
      }
    }
  }
}

TEST(IntegerLinear, SharedInputNeedsTheSameQuantizer) {
  torch::Tensor weight = torch::randint(-20, 21, {16, 40}, torch::kInt32);
  IntegerLinear a(IntegerPrecision::int8, weight, 4, {8, 4}, torch::zeros({16}), KernelIsa::scalar);
  IntegerLinear other_frac(IntegerPrecision::int8, weight, 4, {8, 3}, torch::zeros({16}), KernelIsa::scalar);
  IntegerLinear other_width(IntegerPrecision::int8, weight, 4, {6, 4}, torch::zeros({16}), KernelIsa::scalar);
  IntegerLinear other_precision(IntegerPrecision::int16, weight, 4, {8, 4}, torch::zeros({16}), KernelIsa::scalar);
  EXPECT_TRUE(a.reads_input_as(a));
  for (const IntegerLinear* b : {&other_frac, &other_width, &other_precision}) {
    EXPECT_FALSE(a.reads_input_as(*b));
    EXPECT_THROW(IntegerLinear::forward_shared({&a, b}, torch::randn({5, 40})), Error);
  }
}

TEST(IntegerLinear, NarrowWidthsClampToTheirOwnRange) {
  const passes::FixedPointFormat input{4, 2};
  auto [x, weight] = random_operands(5, {9, 40, 20}, 3, -8, 8);
  torch::Tensor bias = torch::zeros({20});
  torch::Tensor expected = exact_reference(x, weight, input, 2, bias);
  for (KernelIsa isa : isas_of_this_cpu()) {
    IntegerLinear linear(IntegerPrecision::int8, weight, 2, input, bias, isa);
    EXPECT_TRUE(torch::equal(linear.forward(x), expected)) << to_string(isa);
  }
}

TEST(IntegerLinear, PicksThePrecisionWhoseSumsAreExact) {
  torch::Tensor small = torch::randint(-100, 100, {8, 512}, torch::kInt32);
  EXPECT_EQ(IntegerLinear::precision_for(small, {8, 4}, {8, 4}), IntegerPrecision::int8);
  EXPECT_EQ(IntegerLinear::precision_for(small, {4, 2}, {6, 3}), IntegerPrecision::int8);
  EXPECT_EQ(IntegerLinear::precision_for(small, {12, 6}, {8, 4}), IntegerPrecision::int16);
  EXPECT_EQ(IntegerLinear::precision_for(small, {16, 8}, {16, 8}), IntegerPrecision::int16);
  // 2^15 · 512 · 500 > 2^31: a 16-bit input could overflow int32.
  torch::Tensor large = torch::randint(-1000, 1000, {8, 512}, torch::kInt32);
  EXPECT_EQ(IntegerLinear::precision_for(large, {16, 8}, {16, 8}), std::nullopt);
  EXPECT_EQ(IntegerLinear::precision_for(large, {4, 2}, {16, 8}), IntegerPrecision::int16);
  EXPECT_EQ(IntegerLinear::precision_for(small, {17, 8}, {8, 4}), std::nullopt);
  EXPECT_EQ(IntegerLinear::precision_for(small, {8, 100}, {8, 100}), std::nullopt);  // 2^-200 is no float32
  torch::Tensor wide = torch::full({2, 3}, 200, torch::kInt32);
  EXPECT_EQ(IntegerLinear::precision_for(wide, {8, 4}, {9, 4}), IntegerPrecision::int16);
  EXPECT_THROW(IntegerLinear(IntegerPrecision::int8, wide, 4, {8, 4}, torch::zeros({2}), KernelIsa::scalar), Error);
  EXPECT_THROW(IntegerLinear(IntegerPrecision::int16, large, 8, {16, 8}, torch::zeros({8}), KernelIsa::scalar), Error);
}

}  // namespace
}  // namespace whittle::deploy
