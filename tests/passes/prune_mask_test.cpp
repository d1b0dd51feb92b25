#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "passes/prune/magnitude_quantile.h"
#include "passes/prune/prune_masks.h"
#include "passes/prune/prune_transform.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

at::Generator seeded(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

torch::Tensor l1_mask(const torch::Tensor& values, double sparsity) {
  return magnitude_keep_mask(values, magnitude_quantile(values, sparsity));
}

TEST(L1Mask, KeepsMagnitudesStrictlyAboveTheHandComputedThreshold) {
  // Magnitudes 1..10 at sparsity 0.5: threshold 5.5, so 6..10 stay.
  torch::Tensor values = torch::tensor({-3.0f, 1.0f, 10.0f, -7.0f, 2.0f, 6.0f, -5.0f, 4.0f, 9.0f, 8.0f});
  torch::Tensor expected = torch::tensor({false, false, true, true, false, true, false, false, true, true});
  EXPECT_TRUE(torch::equal(l1_mask(values, 0.5), expected));
  // Sparsity 0.3: rank 2.7 between 3 and 4, threshold 3.7: 4..10 stay.
  EXPECT_EQ(l1_mask(values, 0.3).sum().item<int64_t>(), 7);
}

TEST(L1Mask, DropsTiesAtTheThreshold) {
  // Magnitudes 1, 2, 2, 2, 3 at sparsity 0.5: the threshold is 2 itself and
  // the comparison is strict, so only the 3 stays: 80% pruned, not 50%.
  torch::Tensor values = torch::tensor({2.0f, -1.0f, 2.0f, 3.0f, -2.0f});
  EXPECT_TRUE(torch::equal(l1_mask(values, 0.5), torch::tensor({false, false, false, true, false})));
  // Sparsity 0 (Mase: "at least one value is always pruned"): the minimum goes.
  EXPECT_TRUE(torch::equal(l1_mask(values, 0.0), torch::tensor({true, false, true, true, true})));
}

TEST(L1Mask, AgreesWithTorchQuantileThreshold) {
  torch::manual_seed(8);
  torch::Tensor values = torch::randn({300, 200});
  for (double sparsity : {0.1, 0.5, 0.9}) {
    torch::Tensor threshold = torch::quantile(values.abs().flatten(), sparsity);
    EXPECT_TRUE(torch::equal(l1_mask(values, sparsity), values.abs() > threshold)) << sparsity;
  }
}

TEST(RandomMask, KeepsOneMinusSparsityOfALargeTensor) {
  auto generator = seeded(1);
  for (double sparsity : {0.1, 0.5, 0.9}) {
    torch::Tensor mask = random_keep_mask({1000, 1000}, sparsity, generator);
    ASSERT_EQ(mask.scalar_type(), torch::kBool);
    double kept = mask.to(torch::kFloat64).mean().item<double>();
    EXPECT_NEAR(kept, 1.0 - sparsity, 0.01) << sparsity;
  }
}

TEST(RandomMask, IsDeterminedByTheSeed) {
  auto first = seeded(42);
  auto again = seeded(42);
  auto other = seeded(43);
  torch::Tensor a = random_keep_mask({64, 64}, 0.5, first);
  EXPECT_TRUE(torch::equal(a, random_keep_mask({64, 64}, 0.5, again)));
  EXPECT_FALSE(torch::equal(a, random_keep_mask({64, 64}, 0.5, other)));
  // Mase's rule exactly: dropped where rand < sparsity.
  auto reference = seeded(42);
  EXPECT_TRUE(torch::equal(a, torch::rand({64, 64}, reference) >= 0.5));
}

TEST(HashedRandomMask, KeepsOneMinusSparsityOfALargeTensor) {
  for (double sparsity : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    torch::Tensor mask = hashed_random_keep_mask({1000, 1000}, sparsity, 11);
    ASSERT_EQ(mask.scalar_type(), torch::kBool);
    double kept = mask.to(torch::kFloat64).mean().item<double>();
    EXPECT_NEAR(kept, 1.0 - sparsity, 0.01) << sparsity;
  }
}

TEST(HashedRandomMask, IsDeterminedByTheSeedAndIndependentOfThreads) {
  torch::Tensor a = hashed_random_keep_mask({300, 700}, 0.3, 5);
  EXPECT_TRUE(torch::equal(a, hashed_random_keep_mask({300, 700}, 0.3, 5)));
  EXPECT_FALSE(torch::equal(a, hashed_random_keep_mask({300, 700}, 0.3, 6)));
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  torch::Tensor serial = hashed_random_keep_mask({300, 700}, 0.3, 5);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(a, serial));
}

TEST(HashedRandomMask, LeadingRowsAreThoseOfTheWholeTensorsMask) {
  torch::Tensor whole = hashed_random_keep_mask({3, 9, 5, 4}, 0.5, 17);
  for (int64_t rows : {0, 1, 4, 9}) {
    torch::Tensor leading = hashed_random_keep_mask_of_leading_rows({3, rows, 5, 4}, 9, 0.5, 17);
    EXPECT_TRUE(torch::equal(leading, whole.narrow(1, 0, rows))) << rows;
  }
  EXPECT_FALSE(torch::equal(hashed_random_keep_mask_of_leading_rows({3, 1, 5, 4}, 9, 0.5, 17),
                            hashed_random_keep_mask({3, 1, 5, 4}, 0.5, 17)));
  EXPECT_THROW(hashed_random_keep_mask_of_leading_rows({3, 10, 5}, 9, 0.5, 17), Error);
  EXPECT_THROW(hashed_random_keep_mask_of_leading_rows({30}, 9, 0.5, 17), Error);
}

TEST(HashedRandomMask, DropsWhereTheUniformDrawIsBelowTheSparsity) {
  // rand = hash / 2^32; Mase's rule drops where rand < sparsity, so a
  // larger sparsity drops a superset of a smaller one's elements.
  torch::Tensor light = hashed_random_keep_mask({4096}, 0.2, 3);
  torch::Tensor heavy = hashed_random_keep_mask({4096}, 0.6, 3);
  EXPECT_TRUE(torch::equal(heavy & light, heavy));
  EXPECT_GT(light.sum().item<int64_t>(), heavy.sum().item<int64_t>());
}

TEST(MaskByMagnitude, ComputesXTimesMaskAndItsGradient) {
  torch::manual_seed(9);
  torch::Tensor x = torch::randn({5, 300, 17}).requires_grad_(true);
  const float threshold = 0.6f;
  torch::Tensor mask = x.detach().abs() > threshold;
  torch::Tensor y = mask_by_magnitude(x, threshold);
  EXPECT_TRUE(torch::equal(y.detach(), x.detach() * mask));
  torch::Tensor upstream = torch::randn_like(y);
  y.backward(upstream);
  EXPECT_TRUE(torch::equal(x.grad(), upstream * mask));
}

TEST(MaskByMagnitude, KeepsNanAndSignedZerosAsMultiplicationDoes) {
  torch::Tensor x = torch::tensor({std::nanf(""), -0.5f, 2.0f, -3.0f});
  torch::Tensor y = mask_by_magnitude(x, 1.0f);
  EXPECT_TRUE(std::isnan(y[0].item<float>()));
  EXPECT_TRUE(std::signbit(y[1].item<float>()));  // -0.5 * 0 = -0
  EXPECT_EQ(y[2].item<float>(), 2.0f);
  EXPECT_EQ(y[3].item<float>(), -3.0f);
}

PruneSettings settings(double sparsity, PruneMethod method, PruneScope scope = PruneScope::local) {
  return {sparsity, method, scope};
}

TEST(PruneTransform, RecomputesTheActivationMaskFromEveryInput) {
  PruneTransform transform(torch::Tensor(), std::nullopt, settings(0.5, PruneMethod::l1_norm), 0);
  torch::manual_seed(10);
  torch::Tensor first = torch::randn({4, 32, 16});
  torch::Tensor second = torch::randn({4, 32, 16});
  torch::Tensor first_masked = transform->transform_input(first);
  torch::Tensor second_masked = transform->transform_input(second);
  // Each input loses exactly half its elements (distinct magnitudes), by its own quantile.
  EXPECT_EQ((first_masked == 0).sum().item<int64_t>(), first.numel() / 2);
  EXPECT_EQ((second_masked == 0).sum().item<int64_t>(), second.numel() / 2);
  EXPECT_TRUE(torch::equal(first_masked, first * (first.abs() > torch::quantile(first.abs().flatten(), 0.5))));
  EXPECT_TRUE(torch::equal(second_masked, second * (second.abs() > torch::quantile(second.abs().flatten(), 0.5))));
  EXPECT_FALSE(torch::equal(first_masked == 0, second_masked == 0));
  // Scaling one row changes which elements of the other rows survive: the
  // quantile is over the whole input.
  torch::Tensor scaled = first.clone();
  scaled[0] *= 10;
  torch::Tensor scaled_masked = transform->transform_input(scaled);
  EXPECT_FALSE(torch::equal(scaled_masked[1] == 0, first_masked[1] == 0));
}

TEST(PruneTransform, DrawsAFreshRandomActivationMaskEachForward) {
  PruneTransform transform(torch::Tensor(), std::nullopt, settings(0.3, PruneMethod::random), 7);
  torch::Tensor input = torch::ones({100, 100});
  torch::Tensor first = transform->transform_input(input);
  torch::Tensor second = transform->transform_input(input);
  EXPECT_FALSE(torch::equal(first, second));
  EXPECT_NEAR((first == 0).to(torch::kFloat64).mean().item<double>(), 0.3, 0.02);
  PruneTransform replay(torch::Tensor(), std::nullopt, settings(0.3, PruneMethod::random), 7);
  EXPECT_TRUE(torch::equal(replay->transform_input(input), first));
}

TEST(PruneTransform, GlobalL1UsesItsFixedThreshold) {
  PruneTransform transform(torch::Tensor(), std::nullopt, settings(0.5, PruneMethod::l1_norm, PruneScope::global), 0,
                           0.25f);
  torch::Tensor input = torch::tensor({0.1f, -0.25f, 0.3f, -2.0f});
  EXPECT_TRUE(torch::equal(transform->transform_input(input), torch::tensor({0.0f, -0.0f, 0.3f, -2.0f})));
  EXPECT_FALSE(transform->masks_depend_on_whole_input());
  EXPECT_THROW(
      PruneTransform(torch::Tensor(), std::nullopt, settings(0.5, PruneMethod::l1_norm, PruneScope::global), 0), Error);
}

TEST(PruneTransform, MasksTheWeightAndRegistersItsBuffers) {
  torch::Tensor mask = torch::tensor({{true, false}, {false, true}});
  PruneSettings weight = settings(0.5, PruneMethod::l1_norm);
  PruneTransform transform(mask, weight, std::nullopt, 0);
  torch::Tensor w = torch::tensor({{1.0f, 2.0f}, {3.0f, 4.0f}});
  EXPECT_TRUE(torch::equal(transform->transform_weight(w), torch::tensor({{1.0f, 0.0f}, {0.0f, 4.0f}})));
  auto buffers = transform->named_buffers();
  ASSERT_TRUE(buffers.contains("weight_mask"));
  EXPECT_TRUE(torch::equal(buffers["weight_mask"], mask));
  EXPECT_THROW(PruneTransform(torch::Tensor(), weight, std::nullopt, 0), Error);
  EXPECT_EQ(transform->describe()["weight"]["method"], "l1-norm");
}

}  // namespace
}  // namespace whittle::passes
