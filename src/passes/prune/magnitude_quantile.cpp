#include "passes/prune/magnitude_quantile.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "util/error.h"

namespace whittle::passes {
namespace {

// A float's magnitude as an unsigned key: the bits without the sign. For
// non-negative floats the keys order exactly as the values, with +inf next to
// last and NaNs (whatever their sign) last, as torch's sort places them.
uint32_t magnitude_key(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits & 0x7fffffffu;
}

float float_of_key(uint32_t key) {
  float value;
  std::memcpy(&value, &key, sizeof value);
  return value;
}

constexpr uint32_t kInfinityKey = 0x7f800000u;
constexpr int kDigitBits = 16;  // two digits per key: two histogram passes
constexpr size_t kBins = size_t{1} << kDigitBits;
constexpr uint32_t kLowDigitMask = kBins - 1;
// Enough work per parallel task to amortise its 256 KiB histogram.
constexpr int64_t kChunkElements = int64_t{1} << 18;

struct Chunk {
  const float* data;
  int64_t count;
};

std::vector<Chunk> chunks_of(const std::vector<torch::Tensor>& tensors) {
  std::vector<Chunk> chunks;
  for (const auto& tensor : tensors) {
    const float* data = tensor.data_ptr<float>();
    for (int64_t start = 0; start < tensor.numel(); start += kChunkElements) {
      chunks.push_back({data + start, std::min(kChunkElements, tensor.numel() - start)});
    }
  }
  return chunks;
}

using Histogram = std::vector<int64_t>;

// Runs count(chunk, local_histograms) over all chunks in parallel, each task
// into its own `histogram_count` histograms, and returns their sums.
template <typename Count>
std::vector<Histogram> parallel_histograms(const std::vector<Chunk>& chunks, size_t histogram_count, Count count) {
  std::vector<Histogram> totals(histogram_count, Histogram(kBins, 0));
  std::mutex merge;
  at::parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    std::vector<std::vector<uint32_t>> local(histogram_count, std::vector<uint32_t>(kBins, 0));
    for (int64_t i = begin; i < end; ++i) count(chunks[i], local);
    std::lock_guard<std::mutex> lock(merge);
    for (size_t h = 0; h < histogram_count; ++h) {
      for (size_t bin = 0; bin < kBins; ++bin) totals[h][bin] += local[h][bin];
    }
  });
  return totals;
}

struct BinRank {
  uint32_t bin;
  int64_t rank_in_bin;
};

BinRank locate(const Histogram& histogram, int64_t rank) {
  int64_t before = 0;
  for (uint32_t bin = 0; bin < histogram.size(); ++bin) {
    if (rank < before + histogram[bin]) return {bin, rank - before};
    before += histogram[bin];
  }
  throw Error("magnitude_quantile: rank " + std::to_string(rank) + " beyond the data");  // unreachable
}

struct SelectedKeys {
  uint32_t below;
  uint32_t above;
  bool any_nan;
};

// The keys at ranks `below` <= `above` of the sorted magnitudes.
SelectedKeys select_two(const std::vector<Chunk>& chunks, int64_t below, int64_t above) {
  std::vector<uint32_t> largest_keys;
  std::mutex largest_lock;
  auto high = parallel_histograms(chunks, 1, [&](const Chunk& chunk, std::vector<std::vector<uint32_t>>& local) {
    uint32_t* counts = local[0].data();
    uint32_t largest = 0;
    for (int64_t i = 0; i < chunk.count; ++i) {
      uint32_t key = magnitude_key(chunk.data[i]);
      largest = std::max(largest, key);
      ++counts[key >> kDigitBits];
    }
    std::lock_guard<std::mutex> lock(largest_lock);
    largest_keys.push_back(largest);
  });
  bool any_nan = std::any_of(largest_keys.begin(), largest_keys.end(), [](uint32_t key) { return key > kInfinityKey; });

  BinRank below_bin = locate(high[0], below);
  BinRank above_bin = locate(high[0], above);
  auto low = parallel_histograms(chunks, 2, [&](const Chunk& chunk, std::vector<std::vector<uint32_t>>& local) {
    uint32_t* below_counts = local[0].data();
    uint32_t* above_counts = local[1].data();
    for (int64_t i = 0; i < chunk.count; ++i) {
      uint32_t key = magnitude_key(chunk.data[i]);
      uint32_t high_digit = key >> kDigitBits;
      if (high_digit == below_bin.bin) ++below_counts[key & kLowDigitMask];
      if (high_digit == above_bin.bin) ++above_counts[key & kLowDigitMask];
    }
  });
  uint32_t below_key = (below_bin.bin << kDigitBits) | locate(low[0], below_bin.rank_in_bin).bin;
  uint32_t above_key = (above_bin.bin << kDigitBits) | locate(low[1], above_bin.rank_in_bin).bin;
  return {below_key, above_key, any_nan};
}

struct InterpolationPoint {
  int64_t below;
  int64_t above;
  float weight;
};

// torch.quantile's ranks: q * (n - 1) in the input's dtype (float32), then
// truncated, ceiled, and the fraction as the lerp weight.
InterpolationPoint interpolation_point(int64_t count, double q) {
  if (count - 1 <= (int64_t{1} << 24)) {
    float rank = static_cast<float>(q) * static_cast<float>(count - 1);
    auto below = static_cast<int64_t>(rank);
    return {below, static_cast<int64_t>(std::ceil(rank)), rank - static_cast<float>(below)};
  }
  // Past torch's limit float32 could not even name every rank.
  double rank = q * static_cast<double>(count - 1);
  auto below = static_cast<int64_t>(rank);
  return {below, std::min(count - 1, static_cast<int64_t>(std::ceil(rank))),
          static_cast<float>(rank - static_cast<double>(below))};
}

float lerp_as_torch(float below, float above, float weight) {
  return torch::lerp(torch::scalar_tensor(below), torch::scalar_tensor(above), torch::scalar_tensor(weight))
      .item<float>();
}

}  // namespace

float magnitude_quantile(std::span<const torch::Tensor> tensors, double q) {
  if (!(q >= 0.0 && q <= 1.0)) throw Error("quantile q must be in [0, 1], got " + std::to_string(q));
  std::vector<torch::Tensor> contiguous;
  int64_t count = 0;
  for (const auto& tensor : tensors) {
    contiguous.push_back(tensor.detach().to(torch::kFloat32).contiguous());
    count += tensor.numel();
  }
  if (count == 0) throw Error("quantile of an empty tensor");
  InterpolationPoint point = interpolation_point(count, q);
  SelectedKeys keys = select_two(chunks_of(contiguous), point.below, point.above);
  if (keys.any_nan) return std::numeric_limits<float>::quiet_NaN();
  return lerp_as_torch(float_of_key(keys.below), float_of_key(keys.above), point.weight);
}

float magnitude_quantile(const torch::Tensor& tensor, double q) {
  return magnitude_quantile(std::span<const torch::Tensor>(&tensor, 1), q);
}

}  // namespace whittle::passes
