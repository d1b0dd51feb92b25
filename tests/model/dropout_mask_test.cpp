#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "model/dropout_mask.h"

namespace whittle::model::detail {
namespace {

// The vectorised run must give the scalar mask's factors exactly, also where
// the element index crosses 2^32 (its high half changes inside the run).
void expect_run_matches_scalar(uint64_t first_index, int64_t count, double probability) {
  DropoutMask mask(42, probability);
  std::vector<float> in(static_cast<size_t>(count)), out(static_cast<size_t>(count));
  for (int64_t j = 0; j < count; ++j) in[j] = 0.25f + static_cast<float>(j % 97) - 40.0f;
  apply_dropout_run(mask, first_index, count, in.data(), out.data());
  int64_t dropped = 0;
  for (int64_t j = 0; j < count; ++j) {
    const float expected = in[j] * mask.factor(first_index + static_cast<uint64_t>(j));
    ASSERT_EQ(std::bit_cast<uint32_t>(out[j]), std::bit_cast<uint32_t>(expected)) << "element " << j;
    dropped += out[j] == 0.0f;
  }
  if (probability > 0.0) EXPECT_GT(dropped, 0);
}

TEST(DropoutRun, MatchesTheScalarMaskBitForBit) { expect_run_matches_scalar(12345, 10007, 0.1); }

TEST(DropoutRun, MatchesAcrossTheHighHalfOfTheIndex) {
  expect_run_matches_scalar((uint64_t{1} << 32) - 777, 2000, 0.5);
  expect_run_matches_scalar((uint64_t{3} << 32) - 1, 3, 0.5);
}

TEST(DropoutRun, KeepsSignedZeroAndNonFiniteInputsAsTheScalarFormDoes) {
  DropoutMask mask(7, 0.5);
  std::vector<float> in = {-0.0f, std::numeric_limits<float>::infinity(), -3.0f, 1.0f};
  in.resize(64, -2.0f);
  std::vector<float> out(in.size());
  apply_dropout_run(mask, 0, static_cast<int64_t>(in.size()), in.data(), out.data());
  for (size_t j = 0; j < in.size(); ++j) {
    const float expected = in[j] * mask.factor(j);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(out[j])) << j;
    } else {
      EXPECT_EQ(std::bit_cast<uint32_t>(out[j]), std::bit_cast<uint32_t>(expected)) << j;
    }
  }
}

TEST(KeepRun, MatchesTheScalarMaskAcrossTheHighHalfOfTheIndex) {
  DropoutMask mask(9, 0.3);
  const uint64_t first = (uint64_t{5} << 32) - 300;
  std::vector<uint8_t> keep(1000, 7);
  fill_keep_run(mask, first, static_cast<int64_t>(keep.size()), keep.data());
  for (size_t j = 0; j < keep.size(); ++j) ASSERT_EQ(keep[j], mask.keeps(first + j) ? 1 : 0) << j;
}

TEST(DropoutRun, EmptyRunWritesNothing) {
  DropoutMask mask(1, 0.5);
  float sentinel = 5.0f;
  apply_dropout_run(mask, 0, 0, &sentinel, &sentinel);
  EXPECT_EQ(sentinel, 5.0f);
}

}  // namespace
}  // namespace whittle::model::detail
