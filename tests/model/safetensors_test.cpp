#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

#include "util/atomic_file.h"
#include "util/error.h"
#include "support/error_message.h"
#include "support/temp_dir.h"

namespace whittle::model {
namespace {
namespace fs = std::filesystem;

std::string little_endian_u64(uint64_t value) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  return bytes;
}

std::string bytes_of(std::initializer_list<int> values) {
  std::string bytes;
  for (int value : values) bytes.push_back(static_cast<char>(value));
  return bytes;
}

std::string safetensors_file(const std::string& header, const std::string& data) {
  return little_endian_u64(header.size()) + header + data;
}

using test_support::error_message;

// Parses `bytes` and expects an Error naming the origin and the problem.
void expect_rejected(const std::string& bytes, const std::string& problem) {
  std::string message = error_message([&] { parse_safetensors(bytes, "test.safetensors"); });
  EXPECT_EQ(message.rfind("test.safetensors: ", 0), 0u) << message;
  EXPECT_NE(message.find(problem), std::string::npos) << "message: " << message << "\nexpected: " << problem;
}

using test_support::TempDir;

// The whole file serialize_safetensors writes for `tensors`. The length
// prefix is spelled out, not taken from `header`, so that a header padded to
// anything but 144 bytes fails too.
void expect_serialized_with_144_byte_header(const TensorMap& tensors, const std::string& header,
                                            const std::string& data) {
  EXPECT_EQ(serialize_safetensors(tensors), bytes_of({0x90, 0, 0, 0, 0, 0, 0, 0}) + header + data);
}

TEST(SafetensorsTest, ParsesHandWrittenBytesToKnownValues) {
  const std::string header =
      R"({"m":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("h":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},)"
      R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[20,22]},)"
      R"("d":{"dtype":"F64","shape":[],"data_offsets":[22,30]}})";
  const std::string data = bytes_of({0x00, 0x00, 0x80, 0x3F,   // 1.0f
                                     0x00, 0x00, 0x00, 0x40,   // 2.0f
                                     0x00, 0x00, 0x40, 0x40,   // 3.0f
                                     0x00, 0x00, 0x80, 0x40,   // 4.0f
                                     0x00, 0x38,               // F16 0x3800 = 0.5
                                     0xFF, 0xFB,               // F16 0xFBFF = -65504
                                     0x40, 0xC0,               // BF16 0xC040 = -3.0
                                     0, 0, 0, 0, 0, 0, 0xF8, 0x3F});  // F64 1.5

  TensorMap tensors = parse_safetensors(safetensors_file(header, data), "hand-made");

  ASSERT_EQ(tensors.size(), 4u);
  const torch::Tensor& matrix = tensors.at("m");
  EXPECT_EQ(matrix.scalar_type(), torch::kFloat32);
  EXPECT_EQ(matrix.sizes().vec(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(matrix[0][0].item<float>(), 1.0f);
  EXPECT_EQ(matrix[0][1].item<float>(), 2.0f);
  EXPECT_EQ(matrix[1][0].item<float>(), 3.0f);
  EXPECT_EQ(matrix[1][1].item<float>(), 4.0f);
  const torch::Tensor& half = tensors.at("h");
  EXPECT_EQ(half.scalar_type(), torch::kFloat32);
  EXPECT_EQ(half[0].item<float>(), 0.5f);
  EXPECT_EQ(half[1].item<float>(), -65504.0f);
  EXPECT_EQ(tensors.at("b").scalar_type(), torch::kFloat32);
  EXPECT_EQ(tensors.at("b")[0].item<float>(), -3.0f);
  EXPECT_EQ(tensors.at("d").dim(), 0);
  EXPECT_EQ(tensors.at("d").scalar_type(), torch::kFloat32);
  EXPECT_EQ(tensors.at("d").item<float>(), 1.5f);
}

TEST(SafetensorsTest, KeepDtypeKeepsHalfPrecisionBits) {
  const std::string header = R"({"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},)"
                             R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[2,4]}})";
  TensorMap tensors = parse_safetensors(safetensors_file(header, bytes_of({0x00, 0x3C, 0x80, 0x3F})), "x", true);
  EXPECT_EQ(tensors.at("h").scalar_type(), torch::kFloat16);
  EXPECT_EQ(tensors.at("b").scalar_type(), torch::kBFloat16);
  EXPECT_EQ(tensors.at("h").view(torch::kInt16).item<int16_t>(), 0x3C00);
  EXPECT_EQ(tensors.at("b").view(torch::kInt16).item<int16_t>(), 0x3F80);
}

// The fixture comes from scripts/fixtures/make_safetensors_fixture.py, which
// assembles the bytes with Python's struct module: an independent producer
// whose data order differs from the key order.
TEST(SafetensorsTest, ReadsIndependentlyProducedFixture) {
  const fs::path fixture = fs::path(WHITTLE_TEST_FIXTURES) / "safetensors" / "known_values.safetensors";
  TensorMap tensors = read_safetensors(fixture);

  ASSERT_EQ(tensors.size(), 6u);
  EXPECT_TRUE(torch::equal(tensors.at("matrix"), torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 2})));
  EXPECT_TRUE(torch::equal(tensors.at("half"), torch::tensor({1.0f, -2.0f, 0.333251953125f})));
  EXPECT_EQ(tensors.at("brain").dim(), 0);
  EXPECT_EQ(tensors.at("brain").item<float>(), 3.140625f);
  EXPECT_EQ(tensors.at("ids").scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(tensors.at("ids"), torch::tensor({int64_t{-1}, int64_t{42}})));
  EXPECT_EQ(tensors.at("flags").scalar_type(), torch::kBool);
  EXPECT_TRUE(torch::equal(tensors.at("flags"), torch::tensor({true, false, true})));
  EXPECT_EQ(tensors.at("empty").sizes().vec(), (std::vector<int64_t>{0, 3}));
}

TEST(SafetensorsTest, RoundTripKeepsEveryDtypeAndShape) {
  torch::manual_seed(7);
  TensorMap original = {
      {"f32", torch::randn({3, 4})},
      {"f64", torch::randn({2}, torch::kFloat64)},
      {"f16", torch::randn({5}).to(torch::kFloat16)},
      {"bf16", torch::randn({2, 2}).to(torch::kBFloat16)},
      {"i64", torch::tensor(int64_t{-1234567890123})},
      {"i32", torch::randint(-1000, 1000, {2, 3}, torch::kInt32)},
      {"i16", torch::randint(-300, 300, {4}, torch::kInt16)},
      {"i8", torch::randint(-128, 127, {1, 1, 3}, torch::kInt8)},
      {"u8", torch::randint(0, 255, {6}, torch::kUInt8)},
      {"bool", torch::tensor({true, false, false})},
      {"scalar", torch::tensor(2.5f)},
      {"empty", torch::empty({0})},
      {"empty_matrix", torch::empty({4, 0}, torch::kInt64)},
  };

  TensorMap loaded = parse_safetensors(serialize_safetensors(original), "round trip", /*keep_dtype=*/true);

  ASSERT_EQ(loaded.size(), original.size());
  for (const auto& [name, tensor] : original) {
    SCOPED_TRACE(name);
    const torch::Tensor& copy = loaded.at(name);
    EXPECT_EQ(copy.scalar_type(), tensor.scalar_type());
    EXPECT_EQ(copy.sizes(), tensor.sizes());
    EXPECT_TRUE(torch::equal(copy, tensor));
  }
}

TEST(SafetensorsTest, WritesNonContiguousTensorsInLogicalOrder) {
  torch::Tensor transposed = torch::arange(6, torch::kFloat32).reshape({2, 3}).t();
  TensorMap loaded = parse_safetensors(serialize_safetensors({{"t", transposed}}), "x");
  EXPECT_TRUE(torch::equal(loaded.at("t"), transposed));
}

TEST(SafetensorsTest, SerializesExactlyTheExpectedBytes) {
  TensorMap tensors = {{"b", torch::tensor({1.0f, -1.0f})}, {"a", torch::tensor(int64_t{7})}};

  expect_serialized_with_144_byte_header(tensors,
                                         R"({"__metadata__":{"format":"pt"},)"
                                         R"("a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
                                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"
                                         "      ",  // 138 bytes of JSON padded to 144
                                         bytes_of({7, 0, 0, 0, 0, 0, 0, 0,    // a = 7
                                                   0x00, 0x00, 0x80, 0x3F,    // 1.0f
                                                   0x00, 0x00, 0x80, 0xBF}));  // -1.0f
}

TEST(SafetensorsTest, LaysOutDataWithWiderElementsFirstSoEveryTensorIsAligned) {
  TensorMap tensors = {{"a", torch::tensor({1, 2, 3}, torch::kUInt8)}, {"b", torch::tensor({1.0f})}};

  expect_serialized_with_144_byte_header(tensors,
                                         R"({"__metadata__":{"format":"pt"},)"
                                         R"("a":{"dtype":"U8","shape":[3],"data_offsets":[4,7]},)"
                                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})"
                                         "       ",  // 137 bytes of JSON padded to 144
                                         bytes_of({0x00, 0x00, 0x80, 0x3F,  // b = 1.0f
                                                   1, 2, 3}));              // a
}

TEST(SafetensorsTest, OmitsEmptyMetadataAndKeepsCustomMetadata) {
  TensorMap tensors = {{"x", torch::tensor({1.0f})}};
  std::string without = serialize_safetensors(tensors, {});
  EXPECT_EQ(without.find("__metadata__"), std::string::npos);
  std::string custom = serialize_safetensors(tensors, {{"format", "pt"}, {"note", "hi"}});
  EXPECT_NE(custom.find(R"("__metadata__":{"format":"pt","note":"hi"})"), std::string::npos);
  EXPECT_EQ((custom.size() - 4) % 8, 0u) << "header must be padded to a multiple of 8";
}

TEST(SafetensorsTest, WriteAndReadFile) {
  TempDir directory;
  const fs::path path = directory.path() / "nested" / "model.safetensors";
  TensorMap tensors = {{"w", torch::randn({8, 8})}, {"b", torch::zeros({8})}};

  write_safetensors(path, tensors);

  EXPECT_EQ(fs::file_size(path), serialize_safetensors(tensors).size());
  TensorMap loaded = read_safetensors(path);
  EXPECT_TRUE(torch::equal(loaded.at("w"), tensors.at("w")));
  EXPECT_TRUE(torch::equal(loaded.at("b"), tensors.at("b")));
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(path.parent_path())) ++files;
  EXPECT_EQ(files, 1u) << "no temporary file may remain";
}

TEST(SafetensorsTest, ReadingMissingFileNamesIt) {
  std::string message = error_message([] { read_safetensors("/nonexistent/dir/model.safetensors"); });
  EXPECT_NE(message.find("/nonexistent/dir/model.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
}

TEST(SafetensorsTest, CorruptFileErrorNamesThePath) {
  TempDir directory;
  const fs::path path = directory.path() / "broken.safetensors";
  write_file_atomically(path, "abc");
  std::string message = error_message([&] { read_safetensors(path); });
  EXPECT_EQ(message.rfind(path.string() + ": ", 0), 0u) << message;
}

TEST(SafetensorsTest, RejectsShortFile) { expect_rejected(bytes_of({5, 0, 0}), "shorter than the 8-byte header length"); }

TEST(SafetensorsTest, RejectsHeaderLengthBeyondFile) {
  expect_rejected(little_endian_u64(100) + "{}", "header length 100 is larger than the 2 bytes after it");
}

TEST(SafetensorsTest, RejectsAbsurdHeaderLength) {
  expect_rejected(little_endian_u64(uint64_t{1} << 40) + "{}", "exceeds the 100 MB limit");
}

// A file whose bytes are sound up to the JSON header, and what is wrong with
// the header or with the data it describes.
struct MalformedHeader {
  std::string name;  // names the gtest case
  std::string header;
  std::string data;
  std::string problem;  // a part of the error message
};

// gtest would otherwise print the struct as raw bytes.
void PrintTo(const MalformedHeader& malformed, std::ostream* out) { *out << malformed.name; }

// Headers that break the format: JSON, keys, fields, dtypes, metadata.
const MalformedHeader kIllFormedHeaders[] = {
    {"InvalidJson", R"({"a": {"dtype": )", "", "header is not valid JSON"},
    {"HeaderThatIsNotAnObject", "[1, 2]", "", "header is not a JSON object"},
    {"EntryThatIsNotAnObject", R"({"a": 3})", "", "tensor \"a\" must be an object"},
    {"DuplicateTensorNames",
     R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
     R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
     "12", "header has the key \"a\" twice"},
    {"MissingDtype", R"({"a":{"shape":[1],"data_offsets":[0,4]}})", "abcd", "lacks \"dtype\""},
    {"MissingShape", R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", "abcd", "lacks \"shape\""},
    {"MissingDataOffsets", R"({"a":{"dtype":"F32","shape":[1]}})", "abcd", "lacks \"data_offsets\""},
    {"DtypeThatIsNotAString", R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", "abcd",
     "dtype must be a string"},
    {"ShapeThatIsNotAnArray", R"({"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", "abcd",
     "shape must be an array"},
    {"NegativeDimension", R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "abcd",
     "shape must hold non-negative integers"},
    {"FractionalDimension", R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "abcd",
     "shape must hold non-negative integers"},
    {"OneOffset", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}})", "abcd",
     "data_offsets must be [BEGIN, END]"},
    {"OffsetThatIsAString", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}})", "abcd",
     "data_offsets must be [BEGIN, END]"},
    {"OffsetsThatEndBeforeTheyBegin", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", "abcd",
     "end before they begin"},
    {"MetadataValueThatIsNotAString", R"({"__metadata__":{"format":1}})", "", "__metadata__ value of \"format\""},
    {"MetadataThatIsNotAnObject", R"({"__metadata__":[]})", "", "__metadata__ must be an object"},
    {"UnknownDtype", R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", "a",
     "unknown or unsupported dtype \"Q4\""},
};

// Well-formed headers that do not fit the data after them.
const MalformedHeader kHeadersThatMisdescribeTheData[] = {
    {"ShapeThatDisagreesWithByteCount", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "12345678",
     "(12 bytes) but data_offsets [0,8] span 8 bytes"},
    {"ShapeWhoseSizeOverflows",
     R"({"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,8]}})", "12345678",
     "too large"},
    {"OffsetsOutOfRange", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", "12345678",
     "out of range of the 8-byte data section"},
    {"OverlappingTensors",
     R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
     "123456789012", "tensors \"a\" and \"b\" overlap"},
    {"AliasedTensors",
     R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
     R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
     "1234", "overlap"},
    {"HoleBetweenTensors",
     R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
     R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
     "123456789012", "hole of 4 bytes before tensor \"b\""},
    {"HoleBeforeTheFirstTensor", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "12345678",
     "hole of 4 bytes before tensor \"a\""},
    {"TrailingBytes", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "12345678",
     "4 trailing bytes not covered by any tensor"},
    {"InvalidBoolBytes", R"({"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", bytes_of({1, 2}),
     "BOOL tensor \"a\" holds bytes other than 0 and 1"},
};

class SafetensorsMalformedHeaderTest : public ::testing::TestWithParam<MalformedHeader> {};

TEST_P(SafetensorsMalformedHeaderTest, IsRejected) {
  expect_rejected(safetensors_file(GetParam().header, GetParam().data), GetParam().problem);
}

std::string case_name(const ::testing::TestParamInfo<MalformedHeader>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(IllFormed, SafetensorsMalformedHeaderTest, ::testing::ValuesIn(kIllFormedHeaders), case_name);
INSTANTIATE_TEST_SUITE_P(DataMismatch, SafetensorsMalformedHeaderTest,
                         ::testing::ValuesIn(kHeadersThatMisdescribeTheData), case_name);

TEST(SafetensorsTest, WriterRejectsUnrepresentableTensors) {
  std::string complex = error_message([] { serialize_safetensors({{"c", torch::zeros({2}, torch::kComplexFloat)}}); });
  EXPECT_NE(complex.find("tensor \"c\""), std::string::npos) << complex;
  EXPECT_NE(complex.find("no safetensors equivalent"), std::string::npos) << complex;
  std::string reserved = error_message([] { serialize_safetensors({{"__metadata__", torch::zeros({1})}}); });
  EXPECT_NE(reserved.find("reserved"), std::string::npos) << reserved;
  std::string undefined = error_message([] { serialize_safetensors({{"u", torch::Tensor()}}); });
  EXPECT_NE(undefined.find("undefined"), std::string::npos) << undefined;
}

}  // namespace
}  // namespace whittle::model
