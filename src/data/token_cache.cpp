#include "data/token_cache.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "data/digest.h"
#include "util/error.h"

namespace whittle::data {
namespace fs = std::filesystem;
namespace {

static_assert(std::endian::native == std::endian::little, "the token cache is stored little-endian");

constexpr std::string_view cache_magic = "WHTLTOKS";
constexpr uint32_t cache_version = 1;
constexpr size_t header_bytes = 8 + 4 + 4 + 8 + 8 + 8;
constexpr size_t checksum_bytes = sizeof(uint64_t);

class ByteWriter {
 public:
  explicit ByteWriter(size_t expected_bytes) { bytes_.reserve(expected_bytes); }
  template <typename T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    put_array(&value, 1);
  }
  template <typename T>
  void put_array(const T* values, size_t count) {
    bytes_.append(reinterpret_cast<const char*>(values), count * sizeof(T));
  }
  void put_raw(std::string_view raw) { bytes_.append(raw); }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

// Reads from a buffer whose total size the caller has already checked.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  T take() {
    T value;
    take_array(&value, 1);
    return value;
  }
  template <typename T>
  void take_array(T* values, size_t count) {
    size_t size = count * sizeof(T);
    if (size > bytes_.size() - offset_) throw Error("truncated");
    if (size == 0) return;  // `values` may then be null (an empty row), which memcpy must not get
    std::memcpy(values, bytes_.data() + offset_, size);
    offset_ += size;
  }
  std::string_view take_raw(size_t size) {
    if (size > bytes_.size() - offset_) throw Error("truncated");
    std::string_view raw = bytes_.substr(offset_, size);
    offset_ += size;
    return raw;
  }

 private:
  std::string_view bytes_;
  size_t offset_ = 0;
};

uint64_t checksum(std::string_view bytes) {
  Digest64 digest;
  digest.add_raw(bytes);
  return digest.value();
}

void check_offsets(const std::vector<uint64_t>& offsets, uint64_t tokens) {
  if (offsets.front() != 0 || offsets.back() != tokens) throw Error("offsets do not cover the token ids");
  for (size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1]) throw Error("offsets are not increasing");
}

}  // namespace

uint64_t tokenization_key(const std::vector<Review>& reviews, std::string_view tokenizer_fingerprint,
                          int64_t max_length) {
  Digest64 digest;
  digest.add(cache_magic);
  digest.add(tokenizer_fingerprint);
  digest.add(static_cast<uint64_t>(max_length));
  digest.add(static_cast<uint64_t>(reviews.size()));
  for (const Review& review : reviews) {
    digest.add(review.id);
    digest.add(static_cast<uint64_t>(review.label));
    digest.add(review.text);
  }
  return digest.value();
}

fs::path token_cache_file(const fs::path& cache_dir, uint64_t key) {
  char name[40];
  std::snprintf(name, sizeof name, "tokens-%016llx.bin", static_cast<unsigned long long>(key));
  return cache_dir / "tokenized" / name;
}

std::string encode_token_cache(const TokenizedDataset& dataset, uint64_t key) {
  auto examples = static_cast<uint64_t>(dataset.ids.size());
  auto tokens = static_cast<uint64_t>(dataset.total_tokens());
  ByteWriter writer(header_bytes + examples * 16 + 8 + tokens * 4 + checksum_bytes);
  writer.put_raw(cache_magic);
  writer.put(cache_version);
  writer.put(uint32_t{0});
  writer.put(key);
  writer.put(examples);
  writer.put(tokens);
  writer.put_array(dataset.labels.data(), dataset.labels.size());
  uint64_t offset = 0;
  writer.put(offset);
  for (const std::vector<int32_t>& ids : dataset.ids) {
    offset += ids.size();
    writer.put(offset);
  }
  for (const std::vector<int32_t>& ids : dataset.ids) writer.put_array(ids.data(), ids.size());
  writer.put(checksum(writer.bytes()));
  return std::move(writer.bytes());
}

TokenizedDataset decode_token_cache(std::string_view bytes, uint64_t key) {
  if (bytes.size() < header_bytes + checksum_bytes) throw Error("truncated (" + std::to_string(bytes.size()) + " bytes)");
  ByteReader reader(bytes);
  if (reader.take_raw(cache_magic.size()) != cache_magic) throw Error("not a whittle token cache");
  if (auto version = reader.take<uint32_t>(); version != cache_version)
    throw Error("format version " + std::to_string(version) + ", expected " + std::to_string(cache_version));
  reader.take<uint32_t>();
  if (reader.take<uint64_t>() != key) throw Error("written for other reviews or another tokenizer");
  auto examples = reader.take<uint64_t>();
  auto tokens = reader.take<uint64_t>();
  // Bounded by the file size first, so that the sum below cannot overflow.
  if (examples > bytes.size() / 16 || tokens > bytes.size() / 4)
    throw Error("truncated: counts exceed the file size");
  uint64_t expected_size = header_bytes + examples * 8 + (examples + 1) * 8 + tokens * 4 + checksum_bytes;
  if (bytes.size() != expected_size)
    throw Error("size " + std::to_string(bytes.size()) + " bytes, expected " + std::to_string(expected_size));

  std::string_view body = bytes.substr(0, bytes.size() - checksum_bytes);
  uint64_t stored_checksum;
  std::memcpy(&stored_checksum, bytes.data() + body.size(), checksum_bytes);
  if (checksum(body) != stored_checksum) throw Error("checksum mismatch");

  TokenizedDataset dataset;
  dataset.labels.resize(examples);
  reader.take_array(dataset.labels.data(), examples);
  std::vector<uint64_t> offsets(examples + 1);
  reader.take_array(offsets.data(), offsets.size());
  check_offsets(offsets, tokens);
  dataset.ids.resize(examples);
  for (size_t i = 0; i < examples; ++i) {
    dataset.ids[i].resize(offsets[i + 1] - offsets[i]);
    reader.take_array(dataset.ids[i].data(), dataset.ids[i].size());
  }
  return dataset;
}

}  // namespace whittle::data
