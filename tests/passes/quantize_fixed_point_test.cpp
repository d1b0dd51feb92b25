#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "passes/quantize/fixed_point.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

std::vector<float> quantized(const std::vector<float>& values, int64_t width, int64_t frac_width) {
  torch::Tensor result = fixed_point_quantize(torch::tensor(values), width, frac_width);
  return std::vector<float>(result.data_ptr<float>(), result.data_ptr<float>() + result.numel());
}

// Exact float equality, telling -0.0 from 0.0.
void expect_same_floats(const std::vector<float>& actual, const std::vector<float>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i], expected[i]) << "element " << i;
    EXPECT_EQ(std::signbit(actual[i]), std::signbit(expected[i])) << "sign of element " << i;
  }
}

TEST(FixedPointQuantize, RoundsHalfToEven) {
  expect_same_floats(quantized({0.5f, 1.5f, -2.5f, 2.5f, 3.5f, -0.5f, -1.5f}, 8, 0),
                     {0.0f, 2.0f, -2.0f, 2.0f, 4.0f, -0.0f, -2.0f});
  // With f = 2 the ties sit at odd multiples of 1/8.
  expect_same_floats(quantized({0.125f, 0.375f, -0.625f}, 8, 2), {0.0f, 0.5f, -0.5f});
}

TEST(FixedPointQuantize, RoundsToTheGridAtZeroFracWidth) {
  expect_same_floats(quantized({3.3f, -3.7f, 0.2f, -0.2f, 126.6f}, 8, 0), {3.0f, -4.0f, 0.0f, -0.0f, 127.0f});
}

TEST(FixedPointQuantize, ClampsAtBothEnds) {
  // 4 bits, f = 0: integers from -8 to 7.
  expect_same_floats(quantized({7.4f, 7.6f, 100.0f, -8.4f, -8.6f, -100.0f}, 4, 0),
                     {7.0f, 7.0f, 7.0f, -8.0f, -8.0f, -8.0f});
  // 8 bits, f = 4: from -128/16 = -8 to 127/16 = 7.9375.
  expect_same_floats(quantized({9.0f, -9.0f, 7.95f}, 8, 4), {7.9375f, -8.0f, 7.9375f});
}

TEST(FixedPointQuantize, FracWidthAboveWidthGivesARangeBelowOne) {
  // w = 4, f = 6: steps of 1/64 from -8/64 to 7/64.
  expect_same_floats(quantized({0.05f, 1.0f, -1.0f, -0.1f}, 4, 6), {3.0f / 64, 7.0f / 64, -8.0f / 64, -6.0f / 64});
}

TEST(FixedPointQuantize, NegativeFracWidthGivesStepsAboveOne) {
  // w = 4, f = -2: multiples of 4 from -32 to 28; 10/4 = 2.5 ties to 2, 14/4 = 3.5 to 4.
  expect_same_floats(quantized({10.0f, 14.0f, 5.0f, 100.0f, -100.0f}, 4, -2), {8.0f, 16.0f, 4.0f, 28.0f, -32.0f});
}

TEST(FixedPointQuantize, OneBitHoldsMinusOneAndZero) {
  expect_same_floats(quantized({0.7f, -0.7f, -0.2f, 5.0f, -5.0f}, 1, 0), {0.0f, -1.0f, -0.0f, 0.0f, -1.0f});
}

TEST(FixedPointQuantize, ThirtyTwoBitsClampWhereFloat32PutsTheBounds) {
  // 2^31 - 1 is not a float32: torch's clamp converts it to 2^31, the nearest.
  expect_same_floats(quantized({3e9f, -3e9f, 2147483520.0f, 123456789.0f, 0.5f}, 32, 0),
                     {2147483648.0f, -2147483648.0f, 2147483520.0f, 123456789.0f, 0.0f});
  // With f = 16 the range is ±2^15.
  expect_same_floats(quantized({40000.0f, -40000.0f, 1.0f / 3}, 32, 16),
                     {32768.0f, -32768.0f, std::nearbyint(65536.0f / 3) / 65536.0f});
}

TEST(FixedPointQuantize, HandlesInfinityAndNan) {
  float inf = std::numeric_limits<float>::infinity();
  auto values = quantized({inf, -inf, std::numeric_limits<float>::quiet_NaN()}, 8, 4);
  EXPECT_EQ(values[0], 127.0f / 16);
  EXPECT_EQ(values[1], -8.0f);
  EXPECT_TRUE(std::isnan(values[2]));
}

// Values that exercise every branch: ordinary ones, exact ties at the grids
// of the formats below, huge and tiny magnitudes, signed zeros, inf and nan.
torch::Tensor awkward_values(int64_t count) {
  torch::manual_seed(7);
  int64_t part = count / 8;
  std::vector<torch::Tensor> parts = {
      torch::randn({part}),
      torch::randn({part}) * 1000,
      (torch::randint(-4096, 4096, {part}).to(torch::kFloat32) + 0.5f) / 16,  // ties at f = 4
      (torch::randint(-4096, 4096, {part}).to(torch::kFloat32) + 0.5f),       // ties at f = 0
      (torch::randint(-(1 << 20), 1 << 20, {part}).to(torch::kFloat32) + 0.5f) / 256,
      torch::randn({part}) * 1e30,
      torch::randn({part}) * 1e-30,
      torch::exp(torch::randn({part}) * 20) * torch::sign(torch::randn({part})),
  };
  torch::Tensor special = torch::tensor({0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                                         -std::numeric_limits<float>::infinity(),
                                         std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                                         std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                                         std::numeric_limits<float>::denorm_min(), 2147483648.0f, 2147483520.0f,
                                         -2147483648.0f, 16777215.0f, 16777216.0f, 33554432.0f});
  parts.push_back(special.repeat({64}));
  return torch::cat(parts);
}

bool bit_identical(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && torch::equal(a.contiguous().view(torch::kInt32), b.contiguous().view(torch::kInt32));
}

TEST(FixedPointQuantize, IsBitIdenticalToTheComposedTorchOps) {
  torch::Tensor x = awkward_values(4'000'000);
  const std::vector<std::pair<int64_t, int64_t>> formats = {
      {1, 0},  {2, 1},  {4, 6},  {4, -2},  {8, 4},   {8, 0},   {8, 7},    {12, 3},     {16, 8},     {16, 0},
      {24, 0}, {24, 12}, {25, 0}, {26, 3}, {31, 0}, {32, 0}, {32, 16}, {32, -10}, {8, 127},   {8, -126},
      {32, 127}, {32, -126}};
  for (const auto& [width, frac] : formats) {
    torch::Tensor fused = fixed_point_quantize(x, width, frac);
    torch::Tensor reference = fixed_point_quantize_reference(x, width, frac);
    EXPECT_TRUE(bit_identical(fused, reference)) << "w=" << width << " f=" << frac;
  }
}

TEST(FixedPointQuantize, ReadsNonContiguousInput) {
  torch::manual_seed(3);
  torch::Tensor x = torch::randn({300, 200}).t() * 10;
  ASSERT_FALSE(x.is_contiguous());
  EXPECT_TRUE(bit_identical(fixed_point_quantize(x, 8, 3), fixed_point_quantize_reference(x, 8, 3)));
}

TEST(FixedPointQuantize, BackwardIsStraightThroughAlsoWhereClamped) {
  torch::Tensor x = torch::tensor({0.3f, 100.0f, -100.0f, 1.55f, 0.0f}, torch::requires_grad());
  torch::Tensor upstream = torch::tensor({1.0f, 2.0f, -3.0f, 0.25f, 5.0f});
  torch::Tensor y = fixed_point_quantize(x, 4, 1);
  (y * upstream).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), upstream));
}

TEST(FixedPointQuantize, QuantizesOtherFloatingTypesWithTheComposedOps) {
  torch::Tensor x = torch::tensor({0.5, 1.5, 100.0, -0.3}, torch::dtype(torch::kFloat64).requires_grad(true));
  torch::Tensor y = fixed_point_quantize(x, 4, 0);
  EXPECT_EQ(y.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(y, torch::tensor({0.0, 2.0, 7.0, -0.0}, torch::kFloat64)));
  y.sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), torch::ones({4}, torch::kFloat64)));
}

TEST(FixedPointQuantize, WorksInInferenceModeAndOnEmptyTensors) {
  c10::InferenceMode inference;
  EXPECT_EQ(fixed_point_quantize(torch::empty({0, 4}), 8, 4).sizes(), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(fixed_point_quantize(torch::full({2}, 0.26f), 8, 2)[0].item<float>(), 0.25f);
}

TEST(FixedPointQuantize, RejectsInvalidFormatsAndTypes) {
  torch::Tensor x = torch::ones({3});
  for (int64_t width : {0, -1, 33, 64}) EXPECT_THROW(fixed_point_quantize(x, width, 0), Error) << width;
  EXPECT_THROW(fixed_point_quantize(x, 8, 128), Error);
  EXPECT_THROW(fixed_point_quantize(x, 8, -127), Error);
  EXPECT_THROW(fixed_point_quantize(torch::ones({3}, torch::kInt64), 8, 4), Error);
  // The kernel computes Mase's formula for any frac width it can scale by,
  // but a configuration keeps it from 0 to the width.
  EXPECT_NO_THROW(fixed_point_quantize(x, 4, 6));
  using enum FixedPointOperand;
  EXPECT_NO_THROW(validate_fixed_point_format({8, 0}, input));
  EXPECT_NO_THROW(validate_fixed_point_format({8, 8}, input));
  EXPECT_THROW(validate_fixed_point_format({8, 9}, input), Error);
  EXPECT_NO_THROW(validate_fixed_point_format({4, 6}, parameter));  // small weights, fine steps
  EXPECT_THROW(validate_fixed_point_format({4, 128}, parameter), Error);
  for (FixedPointOperand operand : {input, parameter}) {
    EXPECT_THROW(validate_fixed_point_format({8, -1}, operand), Error);
  }
  try {
    fixed_point_quantize(x, 0, 0);
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("width must be from 1 to 32, got 0"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace whittle::passes
