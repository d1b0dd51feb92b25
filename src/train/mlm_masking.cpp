#include "train/mlm_masking.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "model/bert_mlm.h"
#include "util/error.h"
#include "util/hash.h"

namespace whittle::train {
namespace {

// A small counter-based generator: the standard distributions' output is
// not fixed across standard libraries, and masks must be reproducible.
class RandomStream {
 public:
  explicit RandomStream(uint64_t seed) : state_(seed) {}
  uint64_t next() { return splitmix64(state_++); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, bound), by Lemire's multiply-shift (bias below 2^-32 here).
  uint64_t below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  uint64_t state_;
};

void check_fraction(double value, const char* name) {
  if (!(value >= 0.0 && value <= 1.0)) {
    throw Error(std::string("masking option ") + name + " must be in [0, 1], got " + std::to_string(value));
  }
}

}  // namespace

void MaskingOptions::validate() const {
  check_fraction(predict_fraction, "predict_fraction");
  check_fraction(mask_fraction, "mask_fraction");
  check_fraction(random_fraction, "random_fraction");
  if (predict_fraction == 0.0) throw Error("masking option predict_fraction must be positive");
  if (mask_fraction + random_fraction > 1.0) {
    throw Error("masking options mask_fraction + random_fraction must not exceed 1, got " +
                std::to_string(mask_fraction + random_fraction));
  }
}

MaskingTokens masking_tokens(const text::Tokenizer& tokenizer) {
  MaskingTokens tokens;
  tokens.mask_id = tokenizer.mask_id();
  tokens.pad_id = tokenizer.pad_id();
  tokens.vocab_size = tokenizer.vocab_size();
  tokens.special_ids = {tokenizer.cls_id(), tokenizer.sep_id(), tokenizer.pad_id(), tokenizer.mask_id(),
                        tokenizer.unk_id()};
  return tokens;
}

uint64_t derive_seed(uint64_t seed, uint64_t salt) { return splitmix64(splitmix64(seed) ^ splitmix64(~salt)); }

MaskedSequence mask_sequence(std::span<const int32_t> ids, const MaskingTokens& tokens,
                             const MaskingOptions& options, uint64_t seed) {
  auto is_special = [&](int32_t id) {
    return std::find(tokens.special_ids.begin(), tokens.special_ids.end(), id) != tokens.special_ids.end();
  };
  std::vector<size_t> candidates;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!is_special(ids[i])) candidates.push_back(i);
  }
  MaskedSequence masked;
  masked.input_ids.assign(ids.begin(), ids.end());
  masked.labels.assign(ids.size(), model::kNotPredicted);
  if (candidates.empty()) return masked;

  RandomStream random(seed);
  auto wanted = std::llround(options.predict_fraction * static_cast<double>(candidates.size()));
  size_t count = std::clamp<size_t>(static_cast<size_t>(std::max<long long>(wanted, 1)), 1, candidates.size());
  // The first `count` steps of a Fisher-Yates shuffle pick a uniform subset.
  for (size_t i = 0; i < count; ++i) {
    std::swap(candidates[i], candidates[i + random.below(candidates.size() - i)]);
  }
  for (size_t i = 0; i < count; ++i) {
    size_t position = candidates[i];
    masked.labels[position] = ids[position];
    double choice = random.uniform();
    if (choice < options.mask_fraction) {
      masked.input_ids[position] = tokens.mask_id;
    } else if (choice < options.mask_fraction + options.random_fraction) {
      masked.input_ids[position] = static_cast<int32_t>(random.below(static_cast<uint64_t>(tokens.vocab_size)));
    }
  }
  masked.predicted = static_cast<int64_t>(count);
  return masked;
}

MlmBatch make_mlm_batch(const std::vector<std::vector<int32_t>>& sequences, const std::vector<int64_t>& indices,
                        const MaskingTokens& tokens, const MaskingOptions& options, uint64_t pass_seed) {
  if (indices.empty()) throw Error("an MLM batch needs at least one sequence");
  size_t length = 0;
  for (int64_t index : indices) length = std::max(length, sequences.at(static_cast<size_t>(index)).size());
  const auto rows = static_cast<int64_t>(indices.size());
  const auto columns = static_cast<int64_t>(length);
  MlmBatch batch;
  batch.input_ids = torch::full({rows, columns}, tokens.pad_id, torch::kInt64);
  batch.attention_mask = torch::zeros({rows, columns}, torch::kInt64);
  batch.labels = torch::full({rows, columns}, model::kNotPredicted, torch::kInt64);
  auto input_ids = batch.input_ids.accessor<int64_t, 2>();
  auto attention = batch.attention_mask.accessor<int64_t, 2>();
  auto labels = batch.labels.accessor<int64_t, 2>();
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t index = indices[static_cast<size_t>(row)];
    MaskedSequence masked =
        mask_sequence(sequences[static_cast<size_t>(index)], tokens, options, derive_seed(pass_seed, index));
    for (size_t column = 0; column < masked.input_ids.size(); ++column) {
      input_ids[row][column] = masked.input_ids[column];
      attention[row][column] = 1;
      labels[row][column] = masked.labels[column];
    }
    batch.real_tokens += static_cast<int64_t>(masked.input_ids.size());
    batch.predicted += masked.predicted;
  }
  return batch;
}

}  // namespace whittle::train
