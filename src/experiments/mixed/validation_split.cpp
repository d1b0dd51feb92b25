#include "experiments/mixed/validation_split.h"

#include <algorithm>
#include <map>
#include <random>

#include "util/error.h"
#include "util/hash.h"

namespace whittle::experiments {
namespace {

// How many of `size` to take from each label group: equal shares, the
// remainder to the first groups, never more than a group holds (what a small
// group cannot give, the others make up).
std::vector<int64_t> label_quotas(const std::vector<int64_t>& group_sizes, int64_t size) {
  std::vector<int64_t> quotas(group_sizes.size(), 0);
  int64_t left = size;
  while (left > 0) {
    int64_t open = 0;
    for (size_t g = 0; g < group_sizes.size(); ++g) open += quotas[g] < group_sizes[g] ? 1 : 0;
    if (open == 0) break;
    const int64_t share = std::max<int64_t>(1, left / open);
    for (size_t g = 0; g < group_sizes.size() && left > 0; ++g) {
      const int64_t take = std::min({share, group_sizes[g] - quotas[g], left});
      quotas[g] += take;
      left -= take;
    }
  }
  return quotas;
}

}  // namespace

data::TokenizedDataset select_examples(const data::TokenizedDataset& dataset, const std::vector<int64_t>& indices) {
  data::TokenizedDataset selected;
  selected.ids.reserve(indices.size());
  selected.labels.reserve(indices.size());
  for (int64_t index : indices) {
    selected.ids.push_back(dataset.ids.at(static_cast<size_t>(index)));
    selected.labels.push_back(dataset.labels.at(static_cast<size_t>(index)));
  }
  return selected;
}

ValidationSplit split_validation(const data::TokenizedDataset& train_set, int64_t size, uint64_t seed) {
  if (size <= 0 || size >= train_set.size()) {
    throw Error("the validation set must hold between 1 and " + std::to_string(train_set.size() - 1) +
                " reviews (the train split has " + std::to_string(train_set.size()) + "), got " +
                std::to_string(size));
  }
  std::map<int64_t, std::vector<int64_t>> by_label;
  for (int64_t i = 0; i < train_set.size(); ++i) by_label[train_set.labels[static_cast<size_t>(i)]].push_back(i);
  std::mt19937_64 generator(seed);
  std::vector<int64_t> group_sizes;
  for (auto& [label, group] : by_label) {
    std::shuffle(group.begin(), group.end(), generator);
    group_sizes.push_back(static_cast<int64_t>(group.size()));
  }
  const std::vector<int64_t> quotas = label_quotas(group_sizes, size);

  ValidationSplit split;
  split.requested_size = size;
  split.seed = seed;
  size_t group_index = 0;
  for (auto& [label, group] : by_label) {
    const int64_t quota = quotas[group_index++];
    split.validation_indices.insert(split.validation_indices.end(), group.begin(), group.begin() + quota);
  }
  std::sort(split.validation_indices.begin(), split.validation_indices.end());
  std::vector<int64_t> remainder;
  remainder.reserve(static_cast<size_t>(train_set.size() - size));
  size_t next = 0;
  for (int64_t i = 0; i < train_set.size(); ++i) {
    if (next < split.validation_indices.size() && split.validation_indices[next] == i) {
      ++next;
    } else {
      remainder.push_back(i);
    }
  }
  split.validation = select_examples(train_set, split.validation_indices);
  split.remainder = select_examples(train_set, remainder);
  return split;
}

nlohmann::json describe(const ValidationSplit& split) {
  std::map<int64_t, int64_t> per_label;
  for (int64_t label : split.validation.labels) ++per_label[label];
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [label, count] : per_label) labels[std::to_string(label)] = count;
  Fnv1a64 digest;
  for (int64_t index : split.validation_indices) digest.add(std::to_string(index) + ",");
  for (const auto& ids : split.validation.ids) {
    digest.add(std::string_view(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(int32_t)));
  }
  return {{"size", split.validation.size()},
          {"seed", split.seed},
          {"from", "train split"},
          {"labels", labels},
          {"tokens", split.validation.total_tokens()},
          {"digest", digest.hex()}};
}

}  // namespace whittle::experiments
