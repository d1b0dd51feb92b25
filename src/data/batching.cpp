#include "data/batching.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "util/error.h"
#include "util/hash.h"

namespace whittle::data {
namespace {

// Neighbouring seeds and epochs give unrelated orders.
uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  return splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(epoch));
}

void check_options(const BatchOptions& options) {
  if (options.batch_size <= 0) throw Error("batch_size must be positive, got " + std::to_string(options.batch_size));
  if (options.bucket_batches < 0)
    throw Error("bucket_batches must be 0 (off) or positive, got " + std::to_string(options.bucket_batches));
}

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

std::vector<std::vector<int64_t>> cut_into_batches(const std::vector<int64_t>& order, int64_t batch_size) {
  std::vector<std::vector<int64_t>> batches;
  batches.reserve((order.size() + batch_size - 1) / batch_size);
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size));
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

// Longest first, ties in the given order, so the plan is deterministic.
void sort_by_length(const TokenizedDataset& dataset, std::vector<int64_t>::iterator begin,
                    std::vector<int64_t>::iterator end) {
  std::stable_sort(begin, end, [&](int64_t a, int64_t b) { return dataset.ids[a].size() > dataset.ids[b].size(); });
}

}  // namespace

std::vector<std::vector<int64_t>> plan_batches(const TokenizedDataset& dataset, const BatchOptions& options,
                                               int64_t epoch) {
  check_options(options);
  std::vector<int64_t> order(static_cast<size_t>(dataset.size()));
  std::iota(order.begin(), order.end(), int64_t{0});
  bool bucketing = options.bucket_batches > 0;

  if (!options.shuffle) {
    // Evaluation: the order does not matter, padding does.
    if (bucketing) sort_by_length(dataset, order.begin(), order.end());
    return cut_into_batches(order, options.batch_size);
  }

  std::mt19937_64 generator(epoch_seed(options.seed, epoch));
  std::shuffle(order.begin(), order.end(), generator);
  if (!bucketing) return cut_into_batches(order, options.batch_size);

  // Windows hold whole batches, so that sorting inside a window never mixes
  // examples of two windows into one batch.
  size_t window = static_cast<size_t>(options.bucket_batches * options.batch_size);
  for (size_t start = 0; start < order.size(); start += window) {
    size_t end = std::min(order.size(), start + window);
    sort_by_length(dataset, order.begin() + static_cast<std::ptrdiff_t>(start),
                   order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  std::vector<std::vector<int64_t>> batches = cut_into_batches(order, options.batch_size);
  std::shuffle(batches.begin(), batches.end(), generator);
  return batches;
}

Batch make_batch(const TokenizedDataset& dataset, const std::vector<int64_t>& example_indices, int32_t pad_id,
                 int64_t length_multiple, int64_t length_cap) {
  if (example_indices.empty()) throw Error("make_batch: no examples");
  if (dataset.labels.size() != dataset.ids.size())
    throw Error("make_batch: dataset has " + std::to_string(dataset.labels.size()) + " labels for " +
                std::to_string(dataset.ids.size()) + " examples");
  if (length_multiple <= 0) throw Error("length_multiple must be positive, got " + std::to_string(length_multiple));
  int64_t longest = 1;
  for (int64_t index : example_indices) {
    if (index < 0 || index >= dataset.size())
      throw Error("make_batch: example " + std::to_string(index) + " is outside the dataset of " +
                  std::to_string(dataset.size()));
    longest = std::max(longest, static_cast<int64_t>(dataset.ids[index].size()));
  }

  auto rows = static_cast<int64_t>(example_indices.size());
  int64_t length = round_up(longest, length_multiple);
  if (length_cap > 0) length = std::max(longest, std::min(length, length_cap));
  Batch batch;
  batch.input_ids = torch::full({rows, length}, static_cast<int64_t>(pad_id), torch::kInt64);
  batch.attention_mask = torch::zeros({rows, length}, torch::kInt64);
  batch.labels = torch::empty({rows}, torch::kInt64);
  batch.example_indices = example_indices;

  int64_t* ids_out = batch.input_ids.data_ptr<int64_t>();
  int64_t* mask_out = batch.attention_mask.data_ptr<int64_t>();
  int64_t* labels_out = batch.labels.data_ptr<int64_t>();
  for (int64_t row = 0; row < rows; ++row) {
    const std::vector<int32_t>& ids = dataset.ids[example_indices[row]];
    std::copy(ids.begin(), ids.end(), ids_out + row * length);
    std::fill_n(mask_out + row * length, ids.size(), int64_t{1});
    labels_out[row] = dataset.labels[example_indices[row]];
    batch.real_tokens += static_cast<int64_t>(ids.size());
  }
  return batch;
}

}  // namespace whittle::data
