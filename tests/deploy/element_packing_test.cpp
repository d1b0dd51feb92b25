#include "deploy/element_packing.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace whittle::deploy {
namespace {

torch::Tensor random_integers(int64_t bits, int64_t count, double zero_fraction, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  const int64_t lowest = bits == 32 ? INT32_MIN : -(int64_t{1} << (bits - 1));
  const int64_t highest = bits == 32 ? INT32_MAX : (int64_t{1} << (bits - 1)) - 1;
  torch::Tensor values = torch::randint(lowest, highest + 1, {count}, torch::kInt64).to(torch::kInt32);
  values.index_put_({torch::rand({count}) < zero_fraction}, 0);
  values[0] = static_cast<int32_t>(lowest);  // the extremes must survive
  values[count - 1] = static_cast<int32_t>(highest);
  return values;
}

TEST(ElementPacking, IntegersRoundTripInEveryLayout) {
  for (ElementType type : {ElementType::int4, ElementType::int8, ElementType::int16, ElementType::int32}) {
    for (Layout layout : {Layout::dense, Layout::bitmap, Layout::gaps}) {
      for (int64_t count : {int64_t{2}, int64_t{7}, int64_t{1000}}) {
        torch::Tensor values = random_integers(element_bits(type), count, 0.6, 5);
        PackedElements packed = pack_elements(values, type, layout);
        EXPECT_TRUE(torch::equal(unpack_elements(packed, "test"), values))
            << to_string(type) << " " << to_string(layout) << " " << count;
      }
    }
  }
}

TEST(ElementPacking, EveryIntegerWidthRoundTripsAtExactlyItsBits) {
  for (int64_t bits = 1; bits <= 32; ++bits) {
    const ElementType type = integer_element_type(bits);
    EXPECT_EQ(element_bits(type), bits);
    EXPECT_EQ(parse_element_type(to_string(type), "test"), type);
    for (Layout layout : {Layout::dense, Layout::bitmap, Layout::gaps}) {
      for (int64_t count : {int64_t{1}, int64_t{9}, int64_t{1001}}) {
        torch::Tensor values = random_integers(bits, std::max<int64_t>(count, 2), 0.3, 7);
        PackedElements packed = pack_elements(values, type, layout);
        EXPECT_EQ(static_cast<int64_t>(packed.bytes.size()) - packed.index_bytes, (packed.nonzeros * bits + 7) / 8);
        EXPECT_TRUE(torch::equal(unpack_elements(packed, "test"), values)) << bits << " " << to_string(layout);
      }
    }
  }
  EXPECT_EQ(to_string(integer_element_type(6)), "int6");
  EXPECT_THROW(parse_element_type("int0", "test"), Error);
  EXPECT_THROW(parse_element_type("int33", "test"), Error);
  EXPECT_THROW(parse_element_type("int06", "test"), Error);
  EXPECT_THROW(integer_element_type(0), Error);
}

TEST(ElementPacking, SixBitElementsAreABitStreamLeastSignificantFirst) {
  // 1, -1, 5, -32 as 6-bit patterns 000001, 111111, 000101, 100000, the first
  // in the lowest bits: bytes 0xC1, 0x5F, 0x80.
  PackedElements packed = pack_elements(torch::tensor({1, -1, 5, -32}, torch::kInt32), ElementType::integer(6),
                                        Layout::dense);
  ASSERT_EQ(packed.bytes.size(), 3u);
  EXPECT_EQ(static_cast<uint8_t>(packed.bytes[0]), 0xC1);
  EXPECT_EQ(static_cast<uint8_t>(packed.bytes[1]), 0x5F);
  EXPECT_EQ(static_cast<uint8_t>(packed.bytes[2]), 0x80);
}

TEST(ElementPacking, FloatsRoundTripBitForBitIncludingNegativeZero) {
  torch::Tensor values = torch::randn({301});
  values.index_put_({torch::rand({301}) < 0.5}, 0.0f);
  values[3] = -0.0f;
  for (Layout layout : {Layout::dense, Layout::bitmap, Layout::gaps}) {
    torch::Tensor back = unpack_elements(pack_elements(values, ElementType::float32, layout), "test");
    EXPECT_TRUE(torch::equal(back.view(torch::kInt32), values.view(torch::kInt32))) << to_string(layout);
    torch::Tensor halves = values.to(torch::kFloat16);
    torch::Tensor half_back = unpack_elements(pack_elements(halves, ElementType::float16, layout), "test");
    EXPECT_TRUE(torch::equal(half_back.view(torch::kInt16), halves.view(torch::kInt16))) << to_string(layout);
  }
}

TEST(ElementPacking, FourBitValuesTakeHalfAByteAndDenseDataStaysDense) {
  torch::Tensor values = torch::randint(1, 8, {1000}, torch::kInt32);  // no zeros
  PackedElements packed = pack_elements(values, ElementType::int4);
  EXPECT_EQ(packed.layout, Layout::dense);
  EXPECT_EQ(packed.bytes.size(), 500u);
}

TEST(ElementPacking, PicksTheSmallestSparseLayout) {
  torch::Tensor half_zero = random_integers(8, 4000, 0.5, 1);
  PackedElements bitmap = pack_elements(half_zero, ElementType::int8);
  EXPECT_EQ(bitmap.layout, Layout::bitmap);
  EXPECT_LT(bitmap.bytes.size(), 4000u * 5 / 8 + 100);

  torch::Tensor mostly_zero = random_integers(8, 4000, 0.97, 2);
  PackedElements gaps = pack_elements(mostly_zero, ElementType::int8);
  EXPECT_EQ(gaps.layout, Layout::gaps);
  EXPECT_LT(gaps.bytes.size(), pack_elements(mostly_zero, ElementType::int8, Layout::bitmap).bytes.size());
  EXPECT_TRUE(torch::equal(unpack_elements(gaps, "test"), mostly_zero));
}

TEST(ElementPacking, LongRunsOfZerosUseSkipBytes) {
  torch::Tensor values = torch::zeros({2000}, torch::kInt32);
  values[0] = 1;
  values[700] = -3;
  values[1999] = 5;
  PackedElements packed = pack_elements(values, ElementType::int8, Layout::gaps);
  EXPECT_EQ(packed.nonzeros, 3);
  EXPECT_TRUE(torch::equal(unpack_elements(packed, "test"), values));
}

TEST(ElementPacking, ValuesOutsideTheElementTypeAreRefused) {
  EXPECT_THROW(pack_elements(torch::tensor({8}, torch::kInt32), ElementType::int4), Error);
  EXPECT_THROW(pack_elements(torch::tensor({-129}, torch::kInt32), ElementType::int8), Error);
  EXPECT_THROW(pack_elements(torch::tensor({1.0f}), ElementType::int8), Error);
}

TEST(ElementPacking, InconsistentIndexesAreReported) {
  torch::Tensor values = random_integers(8, 100, 0.5, 3);
  PackedElements bitmap = pack_elements(values, ElementType::int8, Layout::bitmap);
  bitmap.nonzeros -= 1;
  bitmap.bytes.pop_back();
  EXPECT_THROW(unpack_elements(bitmap, "test"), Error);

  PackedElements gaps = pack_elements(values, ElementType::int8, Layout::gaps);
  gaps.bytes[0] = static_cast<char>(200);  // runs past the end
  EXPECT_THROW(unpack_elements(gaps, "test"), Error);

  PackedElements dense = pack_elements(values, ElementType::int8, Layout::dense);
  dense.bytes.pop_back();
  EXPECT_THROW(unpack_elements(dense, "test"), Error);
}

}  // namespace
}  // namespace whittle::deploy
