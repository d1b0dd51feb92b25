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
// The coarse digit of a key: its top 12 of 31 bits, the exponent and 4
// mantissa bits. The histogram (16 KiB) stays in L1, and one bin holds at
// most 1/16 of an octave of magnitudes: a few percent of an activation's
// elements around any quantile.
constexpr int kLowBits = 19;
constexpr size_t kBins = size_t{1} << (31 - kLowBits);
// Enough work per parallel task to amortise its histogram.
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

struct CoarseHistogram {
  std::vector<int64_t> counts = std::vector<int64_t>(kBins, 0);
  uint32_t largest_key = 0;
};

// Counts each chunk's keys by coarse digit, in parallel.
CoarseHistogram coarse_histogram(const std::vector<Chunk>& chunks) {
  CoarseHistogram total;
  std::mutex merge;
  at::parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> local(kBins, 0);
    uint32_t largest = 0;
    for (int64_t c = begin; c < end; ++c) {
      const Chunk& chunk = chunks[c];
      for (int64_t i = 0; i < chunk.count; ++i) {
        uint32_t key = magnitude_key(chunk.data[i]);
        largest = std::max(largest, key);
        ++local[key >> kLowBits];
      }
    }
    std::lock_guard<std::mutex> lock(merge);
    for (size_t bin = 0; bin < kBins; ++bin) total.counts[bin] += local[bin];
    total.largest_key = std::max(total.largest_key, largest);
  });
  return total;
}

struct BinRank {
  uint32_t bin;
  int64_t before;  // elements in lower bins
};

BinRank locate(const std::vector<int64_t>& counts, int64_t rank) {
  int64_t before = 0;
  for (uint32_t bin = 0; bin < counts.size(); ++bin) {
    if (rank < before + counts[bin]) return {bin, before};
    before += counts[bin];
  }
  throw Error("magnitude_quantile: rank " + std::to_string(rank) + " beyond the data");  // unreachable
}

// The keys whose coarse digit is in [first_bin, last_bin], in no order.
std::vector<uint32_t> keys_in_bins(const std::vector<Chunk>& chunks, uint32_t first_bin, uint32_t last_bin) {
  std::vector<uint32_t> keys;
  std::mutex merge;
  const uint32_t span = last_bin - first_bin;
  at::parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> local;
    std::vector<uint32_t> buffer(kChunkElements);
    for (int64_t c = begin; c < end; ++c) {
      const Chunk& chunk = chunks[c];
      // Branch-free: a few percent of the keys are taken, at random places.
      uint32_t* out = buffer.data();
      int64_t taken = 0;
      for (int64_t i = 0; i < chunk.count; ++i) {
        uint32_t key = magnitude_key(chunk.data[i]);
        out[taken] = key;
        taken += static_cast<int64_t>((key >> kLowBits) - first_bin <= span);
      }
      local.insert(local.end(), buffer.begin(), buffer.begin() + taken);
    }
    std::lock_guard<std::mutex> lock(merge);
    keys.insert(keys.end(), local.begin(), local.end());
  });
  return keys;
}

struct SelectedKeys {
  uint32_t below;
  uint32_t above;
  bool any_nan;
};

// The keys at ranks `below` <= `above` (above is below or below + 1) of the
// sorted magnitudes: a coarse histogram finds their bins, then only the keys
// in those bins are selected among. No bin lies between the two (their ranks
// are adjacent), so the keys of [below's bin, above's bin] are exactly the
// keys of those two bins.
SelectedKeys select_two(const std::vector<Chunk>& chunks, int64_t below, int64_t above) {
  CoarseHistogram histogram = coarse_histogram(chunks);
  bool any_nan = histogram.largest_key > kInfinityKey;
  BinRank below_bin = locate(histogram.counts, below);
  BinRank above_bin = locate(histogram.counts, above);
  std::vector<uint32_t> keys = keys_in_bins(chunks, below_bin.bin, above_bin.bin);
  auto nth = keys.begin() + (below - below_bin.before);
  std::nth_element(keys.begin(), nth, keys.end());
  uint32_t below_key = *nth;
  uint32_t above_key = above == below ? below_key : *std::min_element(nth + 1, keys.end());
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
