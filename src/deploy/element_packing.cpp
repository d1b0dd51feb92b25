#include "deploy/element_packing.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "util/enum_names.h"
#include "util/error.h"

namespace whittle::deploy {
namespace {

constexpr uint8_t kSkipGap = 255;

constexpr EnumName<Layout> kLayoutNames[] = {
    {Layout::dense, "dense"}, {Layout::bitmap, "bitmap"}, {Layout::gaps, "gaps"}};

torch::ScalarType tensor_dtype(ElementType type) {
  if (type == ElementType::float16) return torch::kFloat16;
  if (type == ElementType::float32) return torch::kFloat32;
  return torch::kInt32;
}

uint32_t bit_mask(ElementType type) {
  int64_t bits = element_bits(type);
  return bits == 32 ? 0xffffffffu : (uint32_t{1} << bits) - 1;
}

// The bit pattern of every element, in row-major order.
std::vector<uint32_t> bit_patterns(const torch::Tensor& values, ElementType type) {
  if (values.scalar_type() != tensor_dtype(type)) {
    throw Error("cannot pack a " + std::string(c10::toString(values.scalar_type())) + " tensor as " + to_string(type));
  }
  torch::Tensor flat = values.contiguous().flatten();
  const int64_t count = flat.numel();
  std::vector<uint32_t> patterns(static_cast<size_t>(count));
  if (type == ElementType::float32) {
    std::memcpy(patterns.data(), flat.data_ptr<float>(), static_cast<size_t>(count) * 4);
    return patterns;
  }
  if (type == ElementType::float16) {
    const auto* halves = reinterpret_cast<const uint16_t*>(flat.data_ptr<at::Half>());
    std::copy(halves, halves + count, patterns.begin());
    return patterns;
  }
  const int64_t bits = element_bits(type);
  const int64_t lowest = bits == 32 ? INT32_MIN : -(int64_t{1} << (bits - 1));
  const int64_t highest = bits == 32 ? INT32_MAX : (int64_t{1} << (bits - 1)) - 1;
  const int32_t* integers = flat.data_ptr<int32_t>();
  const uint32_t mask = bit_mask(type);
  for (int64_t i = 0; i < count; ++i) {
    if (integers[i] < lowest || integers[i] > highest) {
      throw Error("the value " + std::to_string(integers[i]) + " does not fit " + to_string(type));
    }
    patterns[static_cast<size_t>(i)] = static_cast<uint32_t>(integers[i]) & mask;
  }
  return patterns;
}

// The patterns as one little-endian bit stream, `bits` each.
void append_elements(std::string& out, const std::vector<uint32_t>& patterns, ElementType type) {
  const int64_t bits = element_bits(type);
  if (bits % 8 == 0) {
    const int64_t bytes = bits / 8;
    for (uint32_t pattern : patterns) {
      for (int64_t b = 0; b < bytes; ++b) out.push_back(static_cast<char>((pattern >> (8 * b)) & 0xff));
    }
    return;
  }
  uint64_t pending = 0;  // bits not yet written, least significant first
  int64_t filled = 0;
  for (uint32_t pattern : patterns) {
    pending |= uint64_t{pattern} << filled;
    for (filled += bits; filled >= 8; filled -= 8) {
      out.push_back(static_cast<char>(pending & 0xff));
      pending >>= 8;
    }
  }
  if (filled > 0) out.push_back(static_cast<char>(pending & 0xff));
}

// `count` patterns of `bits` each from the stream at `data`, which holds
// packed_size(type, count) bytes.
std::vector<uint32_t> read_elements(const char* data, int64_t count, ElementType type) {
  std::vector<uint32_t> patterns(static_cast<size_t>(count));
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  const int64_t bits = element_bits(type);
  if (bits % 8 == 0) {
    const int64_t width = bits / 8;
    for (int64_t i = 0; i < count; ++i) {
      uint32_t pattern = 0;
      for (int64_t b = 0; b < width; ++b) pattern |= uint32_t{bytes[i * width + b]} << (8 * b);
      patterns[static_cast<size_t>(i)] = pattern;
    }
    return patterns;
  }
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t first_bit = i * bits;
    const int64_t first_byte = first_bit / 8;
    const int64_t last_byte = (first_bit + bits - 1) / 8;
    uint64_t window = 0;
    for (int64_t b = first_byte; b <= last_byte; ++b) window |= uint64_t{bytes[b]} << (8 * (b - first_byte));
    patterns[static_cast<size_t>(i)] = static_cast<uint32_t>((window >> (first_bit % 8)) & mask);
  }
  return patterns;
}

torch::Tensor to_tensor(const std::vector<uint32_t>& patterns, ElementType type) {
  const auto count = static_cast<int64_t>(patterns.size());
  torch::Tensor out = torch::empty({count}, tensor_dtype(type));
  if (type == ElementType::float32) {
    std::memcpy(out.data_ptr<float>(), patterns.data(), static_cast<size_t>(count) * 4);
  } else if (type == ElementType::float16) {
    auto* halves = reinterpret_cast<uint16_t*>(out.data_ptr<at::Half>());
    for (int64_t i = 0; i < count; ++i) halves[i] = static_cast<uint16_t>(patterns[static_cast<size_t>(i)]);
  } else {
    const int64_t bits = element_bits(type);
    int32_t* integers = out.data_ptr<int32_t>();
    for (int64_t i = 0; i < count; ++i) {
      uint32_t pattern = patterns[static_cast<size_t>(i)];
      if (bits < 32 && (pattern >> (bits - 1)) & 1u) pattern |= ~bit_mask(type);  // sign extension
      integers[i] = static_cast<int32_t>(pattern);
    }
  }
  return out;
}

std::string bitmap_index(const std::vector<uint32_t>& patterns) {
  std::string index((patterns.size() + 7) / 8, '\0');
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i] != 0) index[i / 8] = static_cast<char>(static_cast<uint8_t>(index[i / 8]) | (1u << (i % 8)));
  }
  return index;
}

std::string gap_index(const std::vector<uint32_t>& patterns) {
  std::string index;
  uint64_t zeros = 0;
  for (uint32_t pattern : patterns) {
    if (pattern == 0) {
      ++zeros;
      continue;
    }
    for (; zeros >= kSkipGap; zeros -= kSkipGap) index.push_back(static_cast<char>(kSkipGap));
    index.push_back(static_cast<char>(zeros));
    zeros = 0;
  }
  return index;
}

std::vector<uint32_t> nonzero_patterns(const std::vector<uint32_t>& patterns) {
  std::vector<uint32_t> nonzero;
  std::copy_if(patterns.begin(), patterns.end(), std::back_inserter(nonzero), [](uint32_t p) { return p != 0; });
  return nonzero;
}

PackedElements pack_patterns(const std::vector<uint32_t>& patterns, ElementType type, Layout layout) {
  PackedElements packed;
  packed.type = type;
  packed.layout = layout;
  packed.count = static_cast<int64_t>(patterns.size());
  if (layout == Layout::dense) {
    packed.nonzeros = packed.count;
    append_elements(packed.bytes, patterns, type);
    return packed;
  }
  packed.bytes = layout == Layout::bitmap ? bitmap_index(patterns) : gap_index(patterns);
  packed.index_bytes = static_cast<int64_t>(packed.bytes.size());
  std::vector<uint32_t> nonzero = nonzero_patterns(patterns);
  packed.nonzeros = static_cast<int64_t>(nonzero.size());
  append_elements(packed.bytes, nonzero, type);
  return packed;
}

// Positions of the stored elements, from the index; throws when the index is
// inconsistent with the element count.
std::vector<int64_t> positions_from_bitmap(const PackedElements& packed, const std::string& origin) {
  if (packed.index_bytes != (packed.count + 7) / 8) throw Error(origin + ": bitmap index of the wrong length");
  std::vector<int64_t> positions;
  const auto* bitmap = reinterpret_cast<const uint8_t*>(packed.bytes.data());
  for (int64_t i = 0; i < packed.count; ++i) {
    if ((bitmap[i / 8] >> (i % 8)) & 1u) positions.push_back(i);
  }
  return positions;
}

std::vector<int64_t> positions_from_gaps(const PackedElements& packed, const std::string& origin) {
  std::vector<int64_t> positions;
  int64_t position = 0;
  const auto* gaps = reinterpret_cast<const uint8_t*>(packed.bytes.data());
  for (int64_t i = 0; i < packed.index_bytes; ++i) {
    position += gaps[i];
    if (gaps[i] == kSkipGap) continue;
    if (position >= packed.count) throw Error(origin + ": gap index runs past the end of the tensor");
    positions.push_back(position++);
  }
  return positions;
}

}  // namespace

int64_t element_bits(ElementType type) { return type.bits(); }

std::string to_string(ElementType type) {
  switch (type.kind_) {
    case ElementType::Kind::float16: return "float16";
    case ElementType::Kind::float32: return "float32";
    case ElementType::Kind::integer: break;
  }
  return "int" + std::to_string(type.bits());
}

ElementType parse_element_type(const std::string& name, const std::string& origin) {
  if (name == "float16") return ElementType::float16;
  if (name == "float32") return ElementType::float32;
  if (name.size() > 3 && name.size() <= 5 && name.starts_with("int") &&
      std::all_of(name.begin() + 3, name.end(), [](char c) { return c >= '0' && c <= '9'; }) && name[3] != '0') {
    const int64_t bits = std::stoll(name.substr(3));
    if (bits >= 1 && bits <= 32) return ElementType::integer(bits);
  }
  throw Error(origin + ": unknown element type '" + name + "'");
}

ElementType integer_element_type(int64_t width) {
  if (width < 1 || width > 32) throw Error("integers of " + std::to_string(width) + " bits cannot be stored (1 to 32)");
  return ElementType::integer(width);
}

std::string to_string(Layout layout) { return name_of(kLayoutNames, layout, "?"); }

Layout parse_layout(const std::string& name, const std::string& origin) {
  return parse_name(kLayoutNames, name, origin, "layout");
}

int64_t packed_size(ElementType type, int64_t count) { return (count * element_bits(type) + 7) / 8; }

PackedElements pack_elements(const torch::Tensor& values, ElementType type, Layout layout) {
  return pack_patterns(bit_patterns(values, type), type, layout);
}

PackedElements pack_elements(const torch::Tensor& values, ElementType type) {
  std::vector<uint32_t> patterns = bit_patterns(values, type);
  PackedElements best = pack_patterns(patterns, type, Layout::dense);
  for (Layout sparse : {Layout::bitmap, Layout::gaps}) {
    PackedElements candidate = pack_patterns(patterns, type, sparse);
    if (candidate.bytes.size() < best.bytes.size()) best = std::move(candidate);
  }
  return best;
}

torch::Tensor unpack_elements(const PackedElements& packed, const std::string& origin) {
  if (packed.count < 0 || packed.nonzeros < 0 || packed.index_bytes < 0 || packed.nonzeros > packed.count ||
      packed.index_bytes > static_cast<int64_t>(packed.bytes.size())) {
    throw Error(origin + ": inconsistent element counts");
  }
  const int64_t value_bytes = static_cast<int64_t>(packed.bytes.size()) - packed.index_bytes;
  if (value_bytes != packed_size(packed.type, packed.nonzeros)) {
    throw Error(origin + ": " + std::to_string(value_bytes) + " bytes of elements where " +
                std::to_string(packed.nonzeros) + " " + to_string(packed.type) + " elements need " +
                std::to_string(packed_size(packed.type, packed.nonzeros)));
  }
  if (packed.layout == Layout::dense) {
    if (packed.index_bytes != 0 || packed.nonzeros != packed.count) throw Error(origin + ": dense tensor with an index");
    return to_tensor(read_elements(packed.bytes.data(), packed.count, packed.type), packed.type);
  }
  std::vector<int64_t> positions = packed.layout == Layout::bitmap ? positions_from_bitmap(packed, origin)
                                                                   : positions_from_gaps(packed, origin);
  if (static_cast<int64_t>(positions.size()) != packed.nonzeros) {
    throw Error(origin + ": the index marks " + std::to_string(positions.size()) + " nonzero elements, the header " +
                std::to_string(packed.nonzeros));
  }
  std::vector<uint32_t> stored = read_elements(packed.bytes.data() + packed.index_bytes, packed.nonzeros, packed.type);
  std::vector<uint32_t> patterns(static_cast<size_t>(packed.count), 0);
  for (size_t i = 0; i < positions.size(); ++i) patterns[static_cast<size_t>(positions[i])] = stored[i];
  return to_tensor(patterns, packed.type);
}

}  // namespace whittle::deploy
