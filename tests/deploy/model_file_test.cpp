#include "deploy/model_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "data/digest.h"
#include "deploy/compile.h"
#include "deploy/deploy_support.h"
#include "model/linear.h"
#include "passes/prune/prune_pass.h"
#include "util/error.h"

namespace whittle::deploy {
namespace {

CompiledModel compiled_tiny(int64_t width, EmbeddingStorage embeddings = EmbeddingStorage::int8) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(width, width / 2));
  return compile_classifier(model, test::tiny_tokenizer(), {embeddings, embeddings}, {{"from", "a test"}});
}

void expect_error_containing(const std::string& bytes, const std::string& fragment) {
  try {
    parse_compiled_model(bytes, "model.whittle");
    ADD_FAILURE() << "no error; expected one containing '" << fragment << "'";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

TEST(ModelFile, RoundTripsEveryTensorAndRecord) {
  for (EmbeddingStorage embeddings : {EmbeddingStorage::int8, EmbeddingStorage::float16, EmbeddingStorage::float32}) {
    CompiledModel original = compiled_tiny(8, embeddings);
    CompiledModel back = parse_compiled_model(serialize_compiled_model(original), "test");
    EXPECT_EQ(back.tokenizer.tokens, original.tokenizer.tokens);
    EXPECT_EQ(back.cls_only_last_layer, original.cls_only_last_layer);
    EXPECT_EQ(back.source, original.source);
    EXPECT_EQ(model::to_json(back.config), model::to_json(original.config));
    ASSERT_EQ(back.tensors.size(), original.tensors.size());
    for (const auto& [name, tensor] : original.tensors) {
      const StoredTensor& read = back.tensor(name);
      EXPECT_EQ(read.kind, tensor.kind) << name;
      EXPECT_TRUE(torch::equal(read.values, tensor.values)) << name;
      EXPECT_TRUE(torch::equal(read.to_float(), tensor.to_float())) << name;
    }
    for (const auto& [name, record] : original.linears) {
      EXPECT_EQ(back.linears.at(name).quantization, record.quantization) << name;
    }
  }
}

TEST(ModelFile, QuantizedWeightsAreStoredAsThePassComputesThem) {
  auto model = test::tiny_classifier();
  passes::quantize_pass(model, test::quantize_config(4, 2));
  CompiledModel compiled = compile_classifier(model, test::tiny_tokenizer(), {});
  for (auto& [name, linear] : model::find_linears(*model)) {
    const StoredTensor& weight = compiled.tensor(name + ".weight");
    EXPECT_EQ(weight.kind, TensorKind::fixed_point);
    EXPECT_EQ(weight.format, (passes::FixedPointFormat{4, 2}));
    EXPECT_TRUE(torch::equal(weight.to_float(), linear->effective_weight())) << name;
    EXPECT_TRUE(torch::equal(compiled.tensor(name + ".bias").to_float(), linear->effective_bias())) << name;
  }
}

TEST(ModelFile, NarrowerWidthsMakeSmallerFiles) {
  size_t four = serialize_compiled_model(compiled_tiny(4)).size();
  size_t eight = serialize_compiled_model(compiled_tiny(8)).size();
  size_t sixteen = serialize_compiled_model(compiled_tiny(16)).size();
  size_t thirty_two = serialize_compiled_model(compiled_tiny(32)).size();
  EXPECT_LT(four, eight);
  EXPECT_LT(eight, sixteen);
  EXPECT_LT(sixteen, thirty_two);
  // Int8 embeddings: the tables take a quarter of their float32 size.
  EXPECT_LT(serialize_compiled_model(compiled_tiny(8, EmbeddingStorage::int8)).size(),
            serialize_compiled_model(compiled_tiny(8, EmbeddingStorage::float32)).size());
}

TEST(ModelFile, PrunedWeightsAreStoredSparse) {
  auto dense_model = test::tiny_classifier();
  passes::quantize_pass(dense_model, test::quantize_config(8));
  auto pruned_model = test::tiny_classifier();
  passes::quantize_pass(pruned_model, test::quantize_config(8));
  passes::prune_pass(pruned_model, passes::uniform_prune_config(0.9, passes::PruneMethod::l1_norm,
                                                                passes::PruneScope::local, false), 0);
  size_t dense = serialize_compiled_model(compile_classifier(dense_model, test::tiny_tokenizer(), {})).size();
  size_t pruned = serialize_compiled_model(compile_classifier(pruned_model, test::tiny_tokenizer(), {})).size();
  // 14 Linears, 2 x (3 x 32 x 32 + ... ) ≈ 13,000 weights: 90% of them gone
  // saves well over 5 KB even with the index.
  EXPECT_LT(pruned + 5000, dense);
}

TEST(ModelFile, TruncatedFilesAreReportedAsTruncated) {
  std::string bytes = serialize_compiled_model(compiled_tiny(8));
  expect_error_containing(bytes.substr(0, bytes.size() - 1), "truncated");
  expect_error_containing(bytes.substr(0, bytes.size() / 2), "truncated");
  expect_error_containing(bytes.substr(0, 20), "truncated");
  expect_error_containing(bytes.substr(0, 3), "not a compiled whittle model");
  expect_error_containing("", "not a compiled whittle model");
}

TEST(ModelFile, CorruptFilesAreReportedAsCorrupt) {
  const std::string bytes = serialize_compiled_model(compiled_tiny(8));
  for (size_t at : {size_t{40}, bytes.size() / 2, bytes.size() - 1}) {  // header, payload, last byte
    std::string corrupt = bytes;
    corrupt[at] = static_cast<char>(corrupt[at] ^ 0x10);
    expect_error_containing(corrupt, "corrupt");
  }
  expect_error_containing(bytes + "extra", "corrupt");
}

// A model file as a hostile writer makes it: the header and payload as
// given, with the preamble's lengths and checksum recomputed to match, so
// only the reader's own checks stand in the way.
struct OpenedFile {
  nlohmann::json header;
  std::string payload;
};

constexpr size_t kPreamble = 32;

OpenedFile open_file(const std::string& bytes) {
  uint32_t header_size;
  uint64_t payload_size;
  std::memcpy(&header_size, bytes.data() + 12, sizeof header_size);
  std::memcpy(&payload_size, bytes.data() + 16, sizeof payload_size);
  size_t payload_start = (kPreamble + header_size + 63) / 64 * 64;
  return {nlohmann::json::parse(bytes.substr(kPreamble, header_size)), bytes.substr(payload_start, payload_size)};
}

std::string sealed(const OpenedFile& file) {
  const std::string header = file.header.dump();
  const size_t payload_start = (kPreamble + header.size() + 63) / 64 * 64;
  std::string bytes(payload_start, '\0');
  std::memcpy(bytes.data(), "WHTLDPLY", 8);
  const uint32_t version = kModelFileVersion;
  const auto header_size = static_cast<uint32_t>(header.size());
  const uint64_t payload_size = file.payload.size();
  data::Digest64 digest;
  digest.add(header);
  digest.add(file.payload);
  const uint64_t checksum = digest.value();
  std::memcpy(bytes.data() + 8, &version, 4);
  std::memcpy(bytes.data() + 12, &header_size, 4);
  std::memcpy(bytes.data() + 16, &payload_size, 8);
  std::memcpy(bytes.data() + 24, &checksum, 8);
  std::memcpy(bytes.data() + kPreamble, header.data(), header.size());
  return bytes + file.payload;
}

void put_float(OpenedFile& file, const nlohmann::json& where, size_t index, float value) {
  std::memcpy(file.payload.data() + where.at("offset").get<size_t>() + index * sizeof(float), &value, sizeof value);
}

TEST(ModelFile, ResealingAnUntouchedFileKeepsItReadable) {
  const std::string bytes = serialize_compiled_model(compiled_tiny(8));
  EXPECT_EQ(sealed(open_file(bytes)), bytes);
}

TEST(ModelFile, NonFiniteWeightsAndScalesBehindAValidChecksumAreRefused) {
  const std::string bytes = serialize_compiled_model(compiled_tiny(8));
  OpenedFile nan_weight = open_file(bytes);
  put_float(nan_weight, nan_weight.header["tensors"]["bert.embeddings.LayerNorm.weight"]["data"], 3, std::nanf(""));
  expect_error_containing(sealed(nan_weight), "bert.embeddings.LayerNorm.weight holds NaN or infinite values");

  OpenedFile infinite_scale = open_file(bytes);
  put_float(infinite_scale, infinite_scale.header["tensors"]["bert.embeddings.word_embeddings.weight"]["row_scales"], 0,
            std::numeric_limits<float>::infinity());
  expect_error_containing(sealed(infinite_scale), "row scales must be finite and positive");
}

TEST(ModelFile, HugeShapesAndRelabelledElementsBehindAValidChecksumAreRefused) {
  const std::string bytes = serialize_compiled_model(compiled_tiny(8));
  OpenedFile huge = open_file(bytes);
  huge.header["tensors"]["classifier.bias"]["shape"] = {int64_t{1} << 32, int64_t{1} << 32};
  expect_error_containing(sealed(huge), "model.whittle: tensor classifier.bias: implausible shape");

  OpenedFile relabelled = open_file(bytes);
  relabelled.header["tensors"]["bert.embeddings.LayerNorm.weight"]["data"]["element"] = "int32";
  expect_error_containing(sealed(relabelled), "model.whittle: tensor bert.embeddings.LayerNorm.weight");
}

TEST(ModelFile, OtherFilesAndVersionsAreRefused) {
  std::string bytes = serialize_compiled_model(compiled_tiny(8));
  std::string newer = bytes;
  newer[8] = 3;
  expect_error_containing(newer, "format version 3");
  expect_error_containing(std::string(4096, 'x'), "not a compiled whittle model");
  EXPECT_THROW(read_compiled_model("/nonexistent/model.whittle"), Error);
}

TEST(ModelFile, WritesAtomicallyAndReadsBack) {
  auto path = std::filesystem::temp_directory_path() / ("whittle-deploy-test-" + std::to_string(::getpid()) + ".whittle");
  write_compiled_model(path, compiled_tiny(6));
  CompiledModel back = read_compiled_model(path);
  EXPECT_EQ(back.tensor("classifier.weight").format, (passes::FixedPointFormat{6, 3}));
  std::filesystem::remove(path);
}

TEST(Compile, RefusesTransformsItCannotDeploy) {
  class ScaleOutput : public model::LinearTransformImpl {
   public:
    std::string kind() const override { return "lora"; }
    nlohmann::json describe() const override { return nlohmann::json::object(); }
  };
  auto model = test::tiny_classifier();
  model->classifier->attach(std::make_shared<ScaleOutput>());
  try {
    compile_classifier(model, test::tiny_tokenizer(), {});
    ADD_FAILURE() << "compiled a model with a LoRA transform";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("lora"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace whittle::deploy
