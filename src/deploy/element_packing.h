#pragma once
#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace whittle::deploy {

// How one element of a stored tensor is written: signed integers of any
// width from 1 to 32 bits (two's complement) or IEEE floats of 16 or 32 bits.
// Elements are packed one after another as a little-endian bit stream:
// element i takes bits [i·bits, (i+1)·bits), least significant first, so
// 8-, 16- and 32-bit ones are plain little-endian bytes and 4-bit ones two
// per byte, low nibble first.
class ElementType {
 public:
  static constexpr ElementType integer(int64_t bits) { return ElementType(Kind::integer, bits); }
  static const ElementType int4, int8, int16, int32, float16, float32;

  constexpr int64_t bits() const { return bits_; }
  constexpr bool is_integer() const { return kind_ == Kind::integer; }
  constexpr bool operator==(const ElementType&) const = default;

 private:
  enum class Kind { integer, float16, float32 };
  constexpr ElementType(Kind kind, int64_t bits) : kind_(kind), bits_(bits) {}
  friend std::string to_string(ElementType type);
  Kind kind_;
  int64_t bits_;
};
inline constexpr ElementType ElementType::int4 = ElementType::integer(4);
inline constexpr ElementType ElementType::int8 = ElementType::integer(8);
inline constexpr ElementType ElementType::int16 = ElementType::integer(16);
inline constexpr ElementType ElementType::int32 = ElementType::integer(32);
inline constexpr ElementType ElementType::float16 = ElementType(ElementType::Kind::float16, 16);
inline constexpr ElementType ElementType::float32 = ElementType(ElementType::Kind::float32, 32);

int64_t element_bits(ElementType type);
// "int1" ... "int32", "float16", "float32".
std::string to_string(ElementType type);
// Throws whittle::Error naming `origin` for an unknown name.
ElementType parse_element_type(const std::string& name, const std::string& origin);

// The element a `width`-bit signed integer is stored in: exactly `width` bits.
ElementType integer_element_type(int64_t width);

// Where the elements go:
//   dense   every element, in row-major order.
//   bitmap  one bit per element (1 = nonzero, least significant bit first),
//           then the nonzero elements in order.
//   gaps    one byte per nonzero element giving the number of zeros before it
//           (since the previous nonzero one); the byte 255 instead skips 255
//           zeros and carries no element. Then the nonzero elements in order.
// "Zero" is an all-zero bit pattern, so -0.0 is stored and comes back as -0.0.
enum class Layout { dense, bitmap, gaps };

std::string to_string(Layout layout);
Layout parse_layout(const std::string& name, const std::string& origin);

struct PackedElements {
  ElementType type = ElementType::float32;
  Layout layout = Layout::dense;
  int64_t count = 0;        // elements of the tensor
  int64_t nonzeros = 0;     // elements stored (count for dense)
  int64_t index_bytes = 0;  // bytes of the bitmap or gap index at the front of `bytes`
  std::string bytes;        // index, then the stored elements
};

// Packs the elements of `values` (int32 for the integer types, float16 or
// float32 for the float ones; any shape) in the smallest of the three
// layouts, or in `layout` when given. Throws whittle::Error when a value does
// not fit the element type.
PackedElements pack_elements(const torch::Tensor& values, ElementType type);
PackedElements pack_elements(const torch::Tensor& values, ElementType type, Layout layout);

// The inverse: a flat tensor of `packed.count` elements (int32 for integer
// types, float16 / float32 for float ones). Throws whittle::Error naming
// `origin` when the bytes do not add up (wrong length, an index that runs
// past the end or disagrees with the number of nonzero elements).
torch::Tensor unpack_elements(const PackedElements& packed, const std::string& origin);

// Bytes that `count` elements of `type` take when packed one after another.
int64_t packed_size(ElementType type, int64_t count);

}  // namespace whittle::deploy
