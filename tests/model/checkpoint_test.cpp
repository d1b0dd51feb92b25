#include "model/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>
#include <string>

#include "util/atomic_file.h"
#include "util/error.h"
#include "support/error_message.h"

namespace whittle::model {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// A miniature of BertForSequenceClassification's naming: nested modules, a
// ModuleList, a LayerNorm and a buffer, so names like
// "bert.encoder.layer.1.weight" and "bert.embeddings.LayerNorm.bias" occur.
struct TinyEmbeddingsImpl : torch::nn::Module {
  TinyEmbeddingsImpl() {
    word_embeddings = register_module("word_embeddings", torch::nn::Embedding(10, 4));
    layer_norm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4})));
    position_ids = register_buffer("position_ids", torch::arange(6));
  }
  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  torch::Tensor position_ids;
};
TORCH_MODULE(TinyEmbeddings);

struct TinyEncoderImpl : torch::nn::Module {
  TinyEncoderImpl() {
    layer = register_module("layer", torch::nn::ModuleList(torch::nn::Linear(4, 4), torch::nn::Linear(4, 4)));
  }
  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(TinyEncoder);

struct TinyBertImpl : torch::nn::Module {
  TinyBertImpl() {
    embeddings = register_module("embeddings", TinyEmbeddings());
    encoder = register_module("encoder", TinyEncoder());
    pooler_dense = register_module("pooler", torch::nn::Sequential());
    pooler_dense->push_back("dense", torch::nn::Linear(4, 4));
  }
  TinyEmbeddings embeddings{nullptr};
  TinyEncoder encoder{nullptr};
  torch::nn::Sequential pooler_dense{nullptr};
};
TORCH_MODULE(TinyBert);

struct TinyClassifierImpl : torch::nn::Module {
  explicit TinyClassifierImpl(uint64_t seed) {
    torch::manual_seed(seed);
    bert = register_module("bert", TinyBert());
    classifier = register_module("classifier", torch::nn::Linear(4, 2));
    // LayerNorm starts at 1/0; random values make copies distinguishable.
    torch::NoGradGuard no_grad;
    for (auto& parameter : parameters()) parameter.normal_();
  }
  TinyBert bert{nullptr};
  torch::nn::Linear classifier{nullptr};
};
TORCH_MODULE(TinyClassifier);

const std::set<std::string> kParameterNames = {
    "bert.embeddings.word_embeddings.weight", "bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias",
    "bert.encoder.layer.0.weight",            "bert.encoder.layer.0.bias",        "bert.encoder.layer.1.weight",
    "bert.encoder.layer.1.bias",              "bert.pooler.dense.weight",         "bert.pooler.dense.bias",
    "classifier.weight",                      "classifier.bias"};
const std::string kBufferName = "bert.embeddings.position_ids";

using test_support::error_message;

std::set<std::string> names_of(const TensorMap& tensors) {
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) names.insert(name);
  return names;
}

void expect_same_tensors(const TensorMap& expected, const TensorMap& actual) {
  ASSERT_EQ(names_of(actual), names_of(expected));
  for (const auto& [name, tensor] : expected) {
    EXPECT_TRUE(torch::equal(actual.at(name), tensor)) << name;
  }
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("whittle-checkpoint-test-" + std::to_string(std::random_device()()));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path make_tokenizer_dir() {
    fs::path dir = root_ / "tokenizer";
    write_file_atomically(dir / "vocab.txt", "[PAD]\n[UNK]\nhello\n");
    write_file_atomically(dir / "tokenizer_config.json", "{\"do_lower_case\": true}\n");
    write_file_atomically(dir / "unrelated.txt", "not a tokenizer file");
    return dir;
  }

  Checkpoint make_checkpoint(uint64_t seed) {
    Checkpoint checkpoint;
    checkpoint.config = load_bert_config(fs::path(WHITTLE_TEST_FIXTURES) / "bert-tiny-config.json");
    checkpoint.tensors = collect_tensors(*TinyClassifier(seed));
    return checkpoint;
  }

  fs::path root_;
};

TEST_F(CheckpointTest, CollectTensorsNamesParametersAndBuffers) {
  TinyClassifier model(1);
  TensorMap tensors = collect_tensors(*model);

  std::set<std::string> expected = kParameterNames;
  expected.insert(kBufferName);
  EXPECT_EQ(names_of(tensors), expected);
  EXPECT_TRUE(torch::equal(tensors.at("classifier.weight"), model->classifier->weight));
  EXPECT_TRUE(torch::equal(tensors.at(kBufferName), torch::arange(6)));
  EXPECT_FALSE(tensors.at("classifier.weight").requires_grad());
}

TEST_F(CheckpointTest, CollectedTensorsAreSnapshots) {
  TinyClassifier model(1);
  TensorMap tensors = collect_tensors(*model);
  torch::Tensor before = model->classifier->weight.detach().clone();
  {
    torch::NoGradGuard no_grad;
    model->classifier->weight.add_(1.0);
  }
  EXPECT_TRUE(torch::equal(tensors.at("classifier.weight"), before));
}

TEST_F(CheckpointTest, AssignCopiesEveryTensor) {
  TinyClassifier source(1);
  TinyClassifier target(2);
  ASSERT_FALSE(torch::equal(source->classifier->weight, target->classifier->weight));

  LoadReport report = assign_tensors(*target, collect_tensors(*source), {});

  expect_same_tensors(collect_tensors(*source), collect_tensors(*target));
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_TRUE(target->classifier->weight.requires_grad());
  EXPECT_TRUE(target->classifier->weight.is_leaf());
}

TEST_F(CheckpointTest, AssignRejectsShapeMismatch) {
  TinyClassifier model(1);
  TensorMap tensors = collect_tensors(*model);
  tensors["bert.encoder.layer.0.weight"] = torch::zeros({2, 4});
  EXPECT_EQ(error_message([&] { assign_tensors(*model, tensors, {}); }),
            "tensor bert.encoder.layer.0.weight has shape [2, 4] in the checkpoint but the model expects [4, 4]");
}

TEST_F(CheckpointTest, AssignRejectsMissingParameters) {
  TinyClassifier model(1);
  TensorMap tensors = collect_tensors(*model);
  tensors.erase("classifier.weight");
  tensors.erase("classifier.bias");
  EXPECT_EQ(error_message([&] { assign_tensors(*model, tensors, {}); }),
            "checkpoint lacks 2 parameters the model needs: classifier.weight, classifier.bias");
}

TEST_F(CheckpointTest, AssignListsOnlyTheFirstFewMissingNames) {
  TinyClassifier model(1);
  std::string message = error_message([&] { assign_tensors(*model, {}, {}); });
  EXPECT_EQ(message.rfind("checkpoint lacks 11 parameters the model needs: bert.embeddings.word_embeddings.weight, ", 0), 0u)
      << message;
  EXPECT_NE(message.find(" and 6 more"), std::string::npos) << message;
}

TEST_F(CheckpointTest, AllowedMissingParametersKeepTheirValues) {
  TinyClassifier source(1);
  TinyClassifier target(2);
  torch::Tensor initial_classifier = target->classifier->weight.detach().clone();
  TensorMap tensors = collect_tensors(*source);
  tensors.erase("classifier.weight");
  tensors.erase("classifier.bias");

  LoadReport report = assign_tensors(*target, tensors, {"classifier."});

  EXPECT_EQ(std::set<std::string>(report.missing.begin(), report.missing.end()),
            (std::set<std::string>{"classifier.weight", "classifier.bias"}));
  EXPECT_TRUE(torch::equal(target->classifier->weight, initial_classifier));
  EXPECT_TRUE(torch::equal(target->bert->pooler_dense[0]->as<torch::nn::Linear>()->weight,
                           source->bert->pooler_dense[0]->as<torch::nn::Linear>()->weight));
}

TEST_F(CheckpointTest, MissingBuffersAreReportedNotFatal) {
  TinyClassifier model(1);
  TensorMap tensors = collect_tensors(*model);
  tensors.erase(kBufferName);
  LoadReport report = assign_tensors(*model, tensors, {});
  EXPECT_EQ(report.missing, std::vector<std::string>{kBufferName});
}

TEST_F(CheckpointTest, UnexpectedTensorsAreReported) {
  TinyClassifier model(1);
  TensorMap tensors = collect_tensors(*model);
  tensors["cls.predictions.bias"] = torch::zeros({10});
  LoadReport report = assign_tensors(*model, tensors, {});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"cls.predictions.bias"});
  EXPECT_TRUE(report.missing.empty());
}

TEST_F(CheckpointTest, NormalizeNamesBringsOtherConventionsToClassifierNames) {
  TensorMap tensors = {
      {"embeddings.LayerNorm.gamma", torch::ones({1})},
      {"encoder.layer.0.attention.output.LayerNorm.beta", torch::ones({2})},
      {"pooler.dense.weight", torch::ones({3})},
      {"embeddings.position_ids", torch::ones({4})},
      {"bert.embeddings.position_ids", torch::ones({5})},
      {"bert.encoder.layer.1.output.dense.bias", torch::ones({6})},
      {"cls.predictions.transform.LayerNorm.gamma", torch::ones({7})},
      {"classifier.weight", torch::ones({8})},
  };
  TensorMap normalized = normalize_names(tensors);
  EXPECT_EQ(names_of(normalized), (std::set<std::string>{
                                      "bert.embeddings.LayerNorm.weight",
                                      "bert.encoder.layer.0.attention.output.LayerNorm.bias",
                                      "bert.pooler.dense.weight",
                                      "bert.encoder.layer.1.output.dense.bias",
                                      "cls.predictions.transform.LayerNorm.weight",
                                      "classifier.weight",
                                  }));
  EXPECT_EQ(normalized.at("bert.embeddings.LayerNorm.weight").size(0), 1);
  EXPECT_EQ(normalized.at("bert.encoder.layer.0.attention.output.LayerNorm.bias").size(0), 2);
  EXPECT_EQ(normalized.at("bert.pooler.dense.weight").size(0), 3);
}

TEST_F(CheckpointTest, NormalizeNamesRejectsCollisions) {
  std::string message = error_message(
      [] { normalize_names({{"pooler.dense.bias", torch::ones({1})}, {"bert.pooler.dense.bias", torch::ones({1})}}); });
  EXPECT_NE(message.find("both mean bert.pooler.dense.bias"), std::string::npos) << message;
}

TEST_F(CheckpointTest, SaveWritesTheHuggingFaceLayout) {
  Checkpoint checkpoint = make_checkpoint(3);
  checkpoint.whittle = {{"quantization", {{"bits", 8}}}};
  const fs::path dir = root_ / "out" / "model";

  save_checkpoint(dir, checkpoint, make_tokenizer_dir());

  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.insert(entry.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"config.json", "model.safetensors", "whittle.json", "vocab.txt",
                                          "tokenizer_config.json"}));
  EXPECT_EQ(read_file(dir / "vocab.txt"), "[PAD]\n[UNK]\nhello\n");
  const std::string config_text = read_file(dir / "config.json");
  EXPECT_NE(config_text.find("\n  \"architectures\": [\n    \"BertForSequenceClassification\"\n  ],"), std::string::npos)
      << "config.json is pretty-printed:\n" << config_text;
  EXPECT_EQ(json::parse(config_text), to_json(checkpoint.config));
  EXPECT_EQ(json::parse(read_file(dir / "whittle.json")), checkpoint.whittle);
  expect_same_tensors(checkpoint.tensors, read_safetensors(dir / "model.safetensors"));
}

TEST_F(CheckpointTest, SavedAndLoadedModelHasIdenticalTensors) {
  TinyClassifier original(4);
  Checkpoint checkpoint = make_checkpoint(0);
  checkpoint.tensors = collect_tensors(*original);
  checkpoint.whittle = {{"pruning", {{"sparsity", 0.5}}}};
  const fs::path dir = root_ / "model";
  save_checkpoint(dir, checkpoint, make_tokenizer_dir());

  Checkpoint loaded = load_checkpoint(dir);
  TinyClassifier restored(5);
  LoadReport report = assign_tensors(*restored, loaded.tensors, {});

  EXPECT_EQ(to_json(loaded.config), to_json(checkpoint.config));
  EXPECT_EQ(loaded.whittle, checkpoint.whittle);
  EXPECT_EQ(report.missing, std::vector<std::string>{kBufferName}) << "position_ids are dropped on load";
  EXPECT_TRUE(report.unexpected.empty());
  TensorMap expected = collect_tensors(*original);
  TensorMap actual = collect_tensors(*restored);
  expect_same_tensors(expected, actual);
}

TEST_F(CheckpointTest, SaveWithoutExtrasWritesOnlyConfigAndWeights) {
  const fs::path dir = root_ / "bare";
  save_checkpoint(dir, make_checkpoint(1), "");
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.insert(entry.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"config.json", "model.safetensors"}));
  EXPECT_TRUE(load_checkpoint(dir).whittle.empty());
}

TEST_F(CheckpointTest, SaveReplacesAnExistingCheckpoint) {
  const fs::path dir = root_ / "model";
  save_checkpoint(dir, make_checkpoint(1), make_tokenizer_dir());
  write_file_atomically(dir / "stale.txt", "left over");
  Checkpoint second = make_checkpoint(2);
  save_checkpoint(dir, second, "");

  EXPECT_FALSE(fs::exists(dir / "stale.txt"));
  EXPECT_FALSE(fs::exists(dir / "vocab.txt"));
  expect_same_tensors(normalize_names(second.tensors), load_checkpoint(dir).tensors);
}

TEST_F(CheckpointTest, FailedSaveLeavesTheOldCheckpoint) {
  const fs::path dir = root_ / "model";
  Checkpoint first = make_checkpoint(1);
  save_checkpoint(dir, first, "");

  std::string message = error_message([&] { save_checkpoint(dir, make_checkpoint(2), root_ / "no-tokenizer"); });
  EXPECT_NE(message.find("tokenizer directory " + (root_ / "no-tokenizer").string() + " does not exist"),
            std::string::npos)
      << message;
  expect_same_tensors(normalize_names(first.tensors), load_checkpoint(dir).tensors);
  for (const auto& entry : fs::directory_iterator(root_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST_F(CheckpointTest, LoadsBareNamesAndGammaBeta) {
  // A BertModel checkpoint from the TensorFlow era: no "bert." prefix,
  // LayerNorm gamma/beta, a position_ids buffer and an MLM head.
  TinyClassifier reference(6);
  TensorMap bare;
  for (const auto& [name, tensor] : collect_tensors(*reference)) {
    if (!name.starts_with("bert.")) continue;
    std::string old_name = name.substr(5);
    if (old_name.ends_with("LayerNorm.weight")) old_name.replace(old_name.size() - 6, 6, "gamma");
    if (old_name.ends_with("LayerNorm.bias")) old_name.replace(old_name.size() - 4, 4, "beta");
    bare[old_name] = tensor;
  }
  bare["cls.predictions.bias"] = torch::zeros({10});
  ASSERT_TRUE(bare.contains("embeddings.LayerNorm.gamma"));
  ASSERT_TRUE(bare.contains("embeddings.position_ids"));
  const fs::path dir = root_ / "tf-era";
  write_file_atomically(dir / "config.json", read_file(fs::path(WHITTLE_TEST_FIXTURES) / "bert-tiny-config.json"));
  write_safetensors(dir / "model.safetensors", bare);

  Checkpoint loaded = load_checkpoint(dir);
  TinyClassifier model(7);
  LoadReport report = assign_tensors(*model, loaded.tensors, {"classifier."});

  EXPECT_EQ(report.unexpected, std::vector<std::string>{"cls.predictions.bias"});
  EXPECT_EQ(std::set<std::string>(report.missing.begin(), report.missing.end()),
            (std::set<std::string>{"classifier.weight", "classifier.bias", kBufferName}));
  TensorMap expected = collect_tensors(*reference);
  TensorMap actual = collect_tensors(*model);
  for (const auto& name : kParameterNames) {
    if (!name.starts_with("bert.")) continue;
    EXPECT_TRUE(torch::equal(actual.at(name), expected.at(name))) << name;
  }
}

TEST_F(CheckpointTest, LoadErrorsNameTheMissingPath) {
  const fs::path missing_dir = root_ / "nothing";
  std::string no_dir = error_message([&] { load_checkpoint(missing_dir); });
  EXPECT_NE(no_dir.find(missing_dir.string()), std::string::npos) << no_dir;
  EXPECT_NE(no_dir.find("does not exist"), std::string::npos) << no_dir;

  const fs::path dir = root_ / "partial";
  fs::create_directories(dir);
  std::string no_config = error_message([&] { load_checkpoint(dir); });
  EXPECT_NE(no_config.find((dir / "config.json").string() + " does not exist"), std::string::npos) << no_config;

  write_file_atomically(dir / "config.json", read_file(fs::path(WHITTLE_TEST_FIXTURES) / "bert-tiny-config.json"));
  std::string no_weights = error_message([&] { load_checkpoint(dir); });
  EXPECT_NE(no_weights.find((dir / "model.safetensors").string() + " does not exist"), std::string::npos)
      << no_weights;

  fs::create_directories(dir / "model.safetensors");
  std::string weights_folder = error_message([&] { load_checkpoint(dir); });
  EXPECT_NE(weights_folder.find((dir / "model.safetensors").string() + " is a folder, not a file"), std::string::npos)
      << weights_folder;
  fs::remove(dir / "model.safetensors");

  std::string from_file = error_message([&] { load_checkpoint(dir / "config.json"); });
  EXPECT_NE(from_file.find((dir / "config.json").string() + " is a file, not a folder"), std::string::npos) << from_file;

  write_file_atomically(dir / "pytorch_model.bin", "pickle");
  std::string pickle = error_message([&] { load_checkpoint(dir); });
  EXPECT_NE(pickle.find("only pytorch_model.bin"), std::string::npos) << pickle;
}

TEST_F(CheckpointTest, LoadRejectsMalformedFiles) {
  const fs::path dir = root_ / "broken";
  save_checkpoint(dir, make_checkpoint(1), "");
  write_file_atomically(dir / "model.safetensors", std::string(4, '\0'));
  std::string weights = error_message([&] { load_checkpoint(dir); });
  EXPECT_EQ(weights.rfind((dir / "model.safetensors").string() + ": ", 0), 0u) << weights;

  save_checkpoint(dir, make_checkpoint(1), "");
  write_file_atomically(dir / "config.json", "{\"hidden_size\": 128}");
  std::string config = error_message([&] { load_checkpoint(dir); });
  EXPECT_NE(config.find("missing required key \"vocab_size\""), std::string::npos) << config;

  save_checkpoint(dir, make_checkpoint(1), "");
  write_file_atomically(dir / "whittle.json", "[1]");
  std::string whittle = error_message([&] { load_checkpoint(dir); });
  EXPECT_NE(whittle.find("whittle.json: must be a JSON object"), std::string::npos) << whittle;
}

}  // namespace
}  // namespace whittle::model
