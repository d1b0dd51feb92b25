#include "data/batching.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "util/error.h"

namespace whittle::data {
namespace {

// Examples of uniformly random length in [2, 300]; ids encode the row so
// that batches can be checked against the dataset.
TokenizedDataset random_length_dataset(int count, uint32_t seed) {
  std::mt19937 generator(seed);
  TokenizedDataset dataset;
  for (int i = 0; i < count; ++i) {
    size_t length = 2 + generator() % 299;
    dataset.ids.emplace_back(length, 1000 + i);
    dataset.labels.push_back(i % 2);
  }
  return dataset;
}

std::vector<int64_t> flatten(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> all;
  for (const auto& batch : batches) all.insert(all.end(), batch.begin(), batch.end());
  return all;
}

void expect_each_example_once(const std::vector<std::vector<int64_t>>& batches, int64_t count, int64_t batch_size) {
  std::vector<int64_t> all = flatten(batches);
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(static_cast<size_t>(count));
  std::iota(expected.begin(), expected.end(), int64_t{0});
  EXPECT_EQ(all, expected);
  int partial = 0;
  for (const auto& batch : batches) {
    EXPECT_LE(static_cast<int64_t>(batch.size()), batch_size);
    EXPECT_FALSE(batch.empty());
    if (static_cast<int64_t>(batch.size()) < batch_size) ++partial;
  }
  EXPECT_LE(partial, 1);
}

int64_t padded_tokens(const TokenizedDataset& dataset, const BatchOptions& options) {
  int64_t total = 0;
  for (const auto& indices : plan_batches(dataset, options, 0))
    total += make_batch(dataset, indices, 0, options.length_multiple).input_ids.numel();
  return total;
}

TEST(PlanBatches, EveryExampleExactlyOncePerEpochInEveryMode) {
  TokenizedDataset dataset = random_length_dataset(1003, 1);
  for (bool shuffle : {false, true}) {
    for (int64_t bucket_batches : {0, 4, 64}) {
      SCOPED_TRACE("shuffle=" + std::to_string(shuffle) + " bucket_batches=" + std::to_string(bucket_batches));
      BatchOptions options{.batch_size = 8, .shuffle = shuffle, .seed = 3, .bucket_batches = bucket_batches};
      for (int64_t epoch : {0, 1}) expect_each_example_once(plan_batches(dataset, options, epoch), 1003, 8);
    }
  }
}

TEST(PlanBatches, SameSeedAndEpochGiveTheSamePlanOthersDiffer) {
  TokenizedDataset dataset = random_length_dataset(500, 2);
  BatchOptions options{.batch_size = 16, .shuffle = true, .seed = 5};
  auto plan = plan_batches(dataset, options, 2);
  EXPECT_EQ(plan, plan_batches(dataset, options, 2));
  EXPECT_NE(plan, plan_batches(dataset, options, 3));
  BatchOptions other_seed = options;
  other_seed.seed = 6;
  EXPECT_NE(plan, plan_batches(dataset, other_seed, 2));
}

TEST(PlanBatches, EvaluationWithoutBucketingKeepsDatasetOrder) {
  TokenizedDataset dataset = random_length_dataset(20, 3);
  auto plan = plan_batches(dataset, {.batch_size = 8, .shuffle = false, .bucket_batches = 0}, 0);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0], (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(plan[2], (std::vector<int64_t>{16, 17, 18, 19}));
}

TEST(PlanBatches, EvaluationWithBucketingRunsLongestFirstAndIgnoresEpoch) {
  TokenizedDataset dataset = random_length_dataset(300, 4);
  BatchOptions options{.batch_size = 8, .shuffle = false};
  auto plan = plan_batches(dataset, options, 0);
  std::vector<int64_t> order = flatten(plan);
  for (size_t i = 1; i < order.size(); ++i)
    ASSERT_GE(dataset.ids[order[i - 1]].size(), dataset.ids[order[i]].size()) << i;
  EXPECT_EQ(plan, plan_batches(dataset, options, 7));
}

TEST(PlanBatches, TrainingOrderIsNotSimplySortedByLength) {
  TokenizedDataset dataset = random_length_dataset(1000, 5);
  auto plan = plan_batches(dataset, {.batch_size = 8, .shuffle = true, .seed = 1}, 0);
  std::vector<size_t> first_lengths;
  for (const auto& batch : plan) first_lengths.push_back(dataset.ids[batch.front()].size());
  EXPECT_FALSE(std::is_sorted(first_lengths.begin(), first_lengths.end()));
  EXPECT_FALSE(std::is_sorted(first_lengths.rbegin(), first_lengths.rend()));
}

TEST(PlanBatches, BucketingReducesPadding) {
  TokenizedDataset dataset = random_length_dataset(2000, 6);
  BatchOptions bucketed{.batch_size = 16, .shuffle = true, .seed = 9, .length_multiple = 8, .bucket_batches = 32};
  BatchOptions unbucketed = bucketed;
  unbucketed.bucket_batches = 0;
  int64_t real = dataset.total_tokens();
  int64_t with_buckets = padded_tokens(dataset, bucketed);
  int64_t without_buckets = padded_tokens(dataset, unbucketed);
  EXPECT_LT(with_buckets, without_buckets * 3 / 4) << with_buckets << " vs " << without_buckets;
  EXPECT_LT(with_buckets, real * 6 / 5) << "bucketed padding should be small: " << with_buckets << " vs " << real;
}

TEST(PlanBatches, RejectsBadOptions) {
  TokenizedDataset dataset = random_length_dataset(10, 7);
  EXPECT_THROW(plan_batches(dataset, {.batch_size = 0}, 0), Error);
  EXPECT_THROW(plan_batches(dataset, {.batch_size = 4, .bucket_batches = -1}, 0), Error);
  EXPECT_TRUE(plan_batches(TokenizedDataset{}, {.batch_size = 4}, 0).empty());
}

TEST(MakeBatch, PadsToARoundedLengthWithMaskAndLabels) {
  TokenizedDataset dataset;
  dataset.ids = {{2, 5, 3}, {2, 5, 6, 7, 8, 3}, {2, 3}};
  dataset.labels = {1, 0, 1};
  Batch batch = make_batch(dataset, {1, 0}, 99, 4);
  ASSERT_EQ(batch.input_ids.sizes(), (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(batch.input_ids.dtype(), torch::kInt64);
  EXPECT_TRUE(torch::equal(batch.input_ids, torch::tensor({{2, 5, 6, 7, 8, 3, 99, 99}, {2, 5, 3, 99, 99, 99, 99, 99}},
                                                          torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.attention_mask,
                           torch::tensor({{1, 1, 1, 1, 1, 1, 0, 0}, {1, 1, 1, 0, 0, 0, 0, 0}}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.labels, torch::tensor({0, 1}, torch::kInt64)));
  EXPECT_EQ(batch.example_indices, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(batch.real_tokens, 9);
}

TEST(MakeBatch, LengthIsTheLongestRoundedUpToTheMultiple) {
  TokenizedDataset dataset = random_length_dataset(400, 8);
  for (const auto& indices : plan_batches(dataset, {.batch_size = 8, .shuffle = true, .seed = 2}, 0)) {
    Batch batch = make_batch(dataset, indices, 0, 32);
    int64_t longest = 0;
    for (int64_t index : indices) longest = std::max<int64_t>(longest, dataset.ids[index].size());
    int64_t length = batch.input_ids.size(1);
    ASSERT_EQ(length % 32, 0);
    ASSERT_GE(length, longest);
    ASSERT_LT(length, longest + 32);
    ASSERT_EQ(batch.attention_mask.sum().item<int64_t>(), batch.real_tokens);
    // Row r holds the ids of example indices[r] (each example's ids are 1000 + its row).
    ASSERT_EQ(batch.input_ids[0][0].item<int64_t>(), 1000 + indices[0]);
  }
}

TEST(MakeBatch, RejectsBadArguments) {
  TokenizedDataset dataset = random_length_dataset(4, 9);
  EXPECT_THROW(make_batch(dataset, {}, 0, 8), Error);
  EXPECT_THROW(make_batch(dataset, {4}, 0, 8), Error);
  EXPECT_THROW(make_batch(dataset, {-1}, 0, 8), Error);
  EXPECT_THROW(make_batch(dataset, {0}, 0, 0), Error);
}

}  // namespace
}  // namespace whittle::data
