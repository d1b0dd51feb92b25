#include <gtest/gtest.h>

#include "model/attention.h"
#include "model/fused_ops.h"

namespace whittle::model {
namespace {

// Plain ATen attention with a key-length mask and an explicit dropout mask
// built from dropout_keeps, to compare the tiled kernel against.
torch::Tensor reference_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& lengths, int64_t heads, double dropout, uint64_t seed) {
  int64_t batch = q.size(0), queries = q.size(1), keys = k.size(1), hidden = q.size(2);
  int64_t head_size = hidden / heads;
  auto split = [&](const torch::Tensor& x) { return x.view({batch, x.size(1), heads, head_size}).transpose(1, 2); };
  auto scores = torch::matmul(split(q), split(k).transpose(-1, -2));
  auto key_positions = torch::arange(keys).view({1, 1, 1, keys});
  auto padding = key_positions.ge(lengths.view({batch, 1, 1, 1}));
  auto probabilities = torch::softmax(scores.masked_fill(padding, -std::numeric_limits<float>::infinity()), -1);
  if (dropout > 0.0) {
    auto keep = torch::empty({batch * heads * queries * keys});
    for (int64_t i = 0; i < keep.numel(); ++i) keep[i] = dropout_keeps(seed, i, dropout) ? 1.0f / (1.0f - dropout) : 0.0f;
    probabilities = probabilities * keep.view({batch, heads, queries, keys});
  }
  return torch::matmul(probabilities, split(v)).transpose(1, 2).reshape({batch, queries, hidden});
}

struct Case {
  int64_t batch, queries, keys, hidden, heads;
  double dropout;
};

class TiledAttentionTest : public ::testing::TestWithParam<Case> {};

TEST_P(TiledAttentionTest, MatchesReferenceForwardAndBackward) {
  Case c = GetParam();
  torch::manual_seed(3);
  auto q = torch::randn({c.batch, c.queries, c.hidden}).requires_grad_(true);
  auto k = torch::randn({c.batch, c.keys, c.hidden}).requires_grad_(true);
  auto v = torch::randn({c.batch, c.keys, c.hidden}).requires_grad_(true);
  auto lengths = torch::randint(1, c.keys + 1, {c.batch}, torch::kInt64);
  lengths[0] = c.keys;
  auto grad_out = torch::randn({c.batch, c.queries, c.hidden});

  auto tiled = tiled_attention(q, k, v, lengths, c.heads, c.dropout, 42);
  auto [tq, tk, tv] = [&] {
    auto grads = torch::autograd::grad({tiled}, {q, k, v}, {grad_out});
    return std::tuple{grads[0], grads[1], grads[2]};
  }();
  auto reference = reference_attention(q, k, v, lengths, c.heads, c.dropout, 42);
  auto grads = torch::autograd::grad({reference}, {q, k, v}, {grad_out});

  EXPECT_TRUE(torch::allclose(tiled, reference, 1e-4, 1e-5)) << (tiled - reference).abs().max();
  EXPECT_TRUE(torch::allclose(tq, grads[0], 1e-4, 1e-4)) << (tq - grads[0]).abs().max();
  EXPECT_TRUE(torch::allclose(tk, grads[1], 1e-4, 1e-4)) << (tk - grads[1]).abs().max();
  EXPECT_TRUE(torch::allclose(tv, grads[2], 1e-4, 1e-4)) << (tv - grads[2]).abs().max();

  torch::NoGradGuard no_grad;  // the inference path must give the same output
  EXPECT_TRUE(torch::allclose(tiled_attention(q, k, v, lengths, c.heads, c.dropout, 42), tiled.detach()));
}

INSTANTIATE_TEST_SUITE_P(Shapes, TiledAttentionTest,
                         ::testing::Values(Case{2, 5, 5, 8, 2, 0.0}, Case{3, 300, 300, 16, 2, 0.0},
                                           Case{3, 1, 40, 16, 4, 0.0}, Case{2, 150, 150, 8, 2, 0.3},
                                           Case{4, 7, 7, 12, 3, 0.5}));

// Under UndefinedBehaviorSanitizer this caught NaN reaching a float-to-int
// conversion in the softmax; NaN must stay NaN and stay in its own example.
TEST(TiledAttention, NaNScoresGiveNaNOnlyInTheirExample) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  auto q = torch::randn({2, 3, 8});
  auto k = torch::randn({2, 4, 8});
  auto v = torch::randn({2, 4, 8});
  k[0][1][0] = std::numeric_limits<float>::quiet_NaN();
  auto out = tiled_attention(q, k, v, torch::tensor({4, 4}, torch::kInt64), 2, 0.0, 1);
  EXPECT_TRUE(out[0].slice(1, 0, 4).isnan().all().item<bool>()) << out[0];
  EXPECT_TRUE(out[1].isfinite().all().item<bool>()) << out[1];
}

TEST(RightPaddedLengths, AcceptsOnlyPrefixMasks) {
  auto mask = torch::tensor({1, 1, 1, 0, 1, 1, 0, 0}, torch::kInt64).view({2, 4});
  EXPECT_TRUE(torch::equal(right_padded_lengths(mask), torch::tensor({3, 2}, torch::kInt64)));
  auto holes = torch::tensor({1, 0, 1, 0}, torch::kInt64).view({1, 4});
  EXPECT_FALSE(right_padded_lengths(holes).defined());
  auto empty_row = torch::tensor({1, 1, 0, 0}, torch::kInt64).view({2, 2});
  EXPECT_FALSE(right_padded_lengths(empty_row).defined());
}

}  // namespace
}  // namespace whittle::model
