#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "passes/prune/magnitude_quantile.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

float torch_magnitude_quantile(const torch::Tensor& x, double q) {
  return torch::quantile(x.abs().flatten(), q).item<float>();
}

TEST(MagnitudeQuantile, InterpolatesBetweenNeighboursAsWorkedByHand) {
  // Magnitudes 1..10: q = 0.5 sits at rank 4.5, halfway between 5 and 6.
  torch::Tensor x = torch::tensor({-3.0f, 1.0f, 10.0f, -7.0f, 2.0f, 6.0f, -5.0f, 4.0f, 9.0f, 8.0f});
  EXPECT_FLOAT_EQ(magnitude_quantile(x, 0.5), 5.5f);
  // q = 0.25: rank 2.25, between 3 and 4.
  EXPECT_FLOAT_EQ(magnitude_quantile(x, 0.25), 3.25f);
  EXPECT_FLOAT_EQ(magnitude_quantile(x, 0.0), 1.0f);
  EXPECT_FLOAT_EQ(magnitude_quantile(x, 1.0), 10.0f);
  // Ties: magnitudes 1, 2, 2, 2, 3; rank 2 is a 2.
  EXPECT_FLOAT_EQ(magnitude_quantile(torch::tensor({2.0f, -1.0f, 2.0f, 3.0f, -2.0f}), 0.5), 2.0f);
}

TEST(MagnitudeQuantile, IsBitIdenticalToTorchQuantile) {
  torch::manual_seed(3);
  const std::vector<double> qs = {0.0, 0.1, 0.25, 1.0 / 3.0, 0.5, 0.7, 0.9, 0.999, 1.0};
  for (int64_t size : {1, 2, 7, 1000, 65537, 100003, 1000003}) {
    torch::Tensor x = torch::randn({size}) * 0.05;
    for (double q : qs) {
      float expected = torch_magnitude_quantile(x, q);
      EXPECT_EQ(magnitude_quantile(x, q), expected) << "size " << size << " q " << q;
    }
  }
}

TEST(MagnitudeQuantile, MatchesTorchWithManyTiesAndZeros) {
  torch::manual_seed(4);
  torch::Tensor x = torch::randint(-4, 5, {50000}).to(torch::kFloat32) * 0.5;  // 9 distinct values, many zeros
  for (double q : {0.05, 0.2, 0.5, 0.61, 0.95}) EXPECT_EQ(magnitude_quantile(x, q), torch_magnitude_quantile(x, q));
  torch::Tensor wide = torch::cat({torch::full({1000}, 1e-30f), torch::full({1000}, 3e30f), torch::zeros({10})});
  for (double q : {0.3, 0.5, 0.99}) EXPECT_EQ(magnitude_quantile(wide, q), torch_magnitude_quantile(wide, q));
}

TEST(MagnitudeQuantile, OfSeveralTensorsIsThatOfTheirConcatenation) {
  torch::manual_seed(5);
  std::vector<torch::Tensor> parts = {torch::randn({300, 7}), torch::randn({5}) * 100, torch::randn({2, 2, 9}) * 1e-3};
  torch::Tensor joined = torch::cat({parts[0].flatten(), parts[1].flatten(), parts[2].flatten()});
  for (double q : {0.1, 0.5, 0.93}) EXPECT_EQ(magnitude_quantile(parts, q), torch_magnitude_quantile(joined, q));
}

TEST(MagnitudeQuantile, NonContiguousAndOtherDtypesAreReadAsTheirValues) {
  torch::manual_seed(6);
  torch::Tensor x = torch::randn({64, 48}).t();
  ASSERT_FALSE(x.is_contiguous());
  EXPECT_EQ(magnitude_quantile(x, 0.37), torch_magnitude_quantile(x, 0.37));
  torch::Tensor doubles = torch::randn({999}, torch::kFloat64);
  EXPECT_EQ(magnitude_quantile(doubles, 0.5), torch_magnitude_quantile(doubles.to(torch::kFloat32), 0.5));
}

TEST(MagnitudeQuantile, NanAnywhereGivesNanAsTorchDoes) {
  torch::Tensor x = torch::tensor({1.0f, 2.0f, std::nanf(""), 4.0f});
  EXPECT_TRUE(std::isnan(torch_magnitude_quantile(x, 0.1)));
  EXPECT_TRUE(std::isnan(magnitude_quantile(x, 0.1)));
  // Infinity is a magnitude like any other, and lerp(inf, inf, 0) is NaN in torch too.
  torch::Tensor infinite = torch::tensor({1.0f, INFINITY, 3.0f});
  EXPECT_EQ(magnitude_quantile(infinite, 0.5), torch_magnitude_quantile(infinite, 0.5));
  EXPECT_EQ(magnitude_quantile(infinite, 0.4), torch_magnitude_quantile(infinite, 0.4));
  EXPECT_TRUE(std::isnan(torch_magnitude_quantile(infinite, 1.0)));
  EXPECT_TRUE(std::isnan(magnitude_quantile(infinite, 1.0)));
}

// Past 2^24 elements torch.quantile refuses; the answer here is known from
// the construction: every value 0..1023 appears `copies` times.
TEST(MagnitudeQuantile, WorksBeyondTorchQuantileSizeLimit) {
  const int64_t copies = 16400;
  const int64_t count = 1024 * copies;  // 16,793,600 > 2^24
  // Shuffled by a stride coprime to the count: i * 7919 mod n runs over every index once.
  torch::Tensor index = torch::arange(count, torch::kInt64).mul_(7919).remainder_(count);
  torch::Tensor values = index.div(copies, "floor").to(torch::kFloat32);
  EXPECT_ANY_THROW(torch::quantile(values, 0.5));

  // rank 0.5 * (n - 1) = 8396799.5: between the last 511 and the first 512.
  EXPECT_FLOAT_EQ(magnitude_quantile(values, 0.5), 511.5f);
  // rank 0.25 * (n - 1) = 4198399.75: the last 255 (index 256 * 16400 - 1) and the first 256.
  EXPECT_FLOAT_EQ(magnitude_quantile(values, 0.25), 255.75f);
  // rank 0.2 * (n - 1) = 3358719.8: both neighbours are 204 (204 * 16400 = 3345600).
  EXPECT_FLOAT_EQ(magnitude_quantile(values, 0.2), 204.0f);
  EXPECT_FLOAT_EQ(magnitude_quantile(values, 1.0), 1023.0f);
  EXPECT_FLOAT_EQ(magnitude_quantile(values, 0.0), 0.0f);
}

TEST(MagnitudeQuantile, LargeRandomInputMatchesASortingReference) {
  torch::manual_seed(7);
  const int64_t count = (int64_t{1} << 24) + 4097;
  torch::Tensor x = torch::randn({count});
  std::vector<float> magnitudes(count);
  const float* data = x.data_ptr<float>();
  for (int64_t i = 0; i < count; ++i) magnitudes[i] = std::fabs(data[i]);
  for (double q : {0.3, 0.5}) {
    double rank = q * static_cast<double>(count - 1);
    auto below = static_cast<int64_t>(rank);
    std::nth_element(magnitudes.begin(), magnitudes.begin() + below, magnitudes.end());
    float low = magnitudes[below];
    float high = *std::min_element(magnitudes.begin() + below + 1, magnitudes.end());
    float weight = static_cast<float>(rank - static_cast<double>(below));
    float expected =
        torch::lerp(torch::scalar_tensor(low), torch::scalar_tensor(high), torch::scalar_tensor(weight)).item<float>();
    EXPECT_EQ(magnitude_quantile(x, q), expected) << "q " << q;
  }
}

TEST(MagnitudeQuantile, RejectsEmptyInputAndQOutsideTheUnitInterval) {
  EXPECT_THROW(magnitude_quantile(torch::empty({0}), 0.5), Error);
  EXPECT_THROW(magnitude_quantile(torch::ones({3}), 1.5), Error);
  EXPECT_THROW(magnitude_quantile(torch::ones({3}), -0.1), Error);
  EXPECT_THROW(magnitude_quantile(torch::ones({3}), std::nan("")), Error);
}

}  // namespace
}  // namespace whittle::passes
