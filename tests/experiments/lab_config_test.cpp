#include <gtest/gtest.h>

#include "experiments/lab_config.h"
#include "util/error.h"

namespace whittle::experiments {
namespace {

using nlohmann::json;

json document() {
  return json::parse(R"({
    "title": "t",
    "data": {"source": "data/imdb.tar.gz", "max_length": 128},
    "base": {"model": "models/base"},
    "lora": {"rank": 6, "alpha": 1.0, "dropout": 0.5, "training": {"epochs": 2}},
    "quantize": {"widths": [4, 8, 16]},
    "prune": {"sparsities": [0.5], "methods": ["l1-norm"]},
    "profiles": {"quick": {"data": {"max_length": 64}, "quantize": {"widths": [8]}}}
  })");
}

LabConfig parse(const std::string& profile = "", const std::vector<std::string>& overrides = {}) {
  return parse_lab_config(document(), "lab.toml", "/configs", profile, LabOverrides{overrides});
}

TEST(LabConfig, TypedOverridesWinOverTheFileAndTheAssignments) {
  LabOverrides overrides{{"data.source=\"elsewhere.tar.gz\""}, "/data/aclImdb_v1.tar.gz", "/models/mine"};
  LabConfig config = parse_lab_config(document(), "lab.toml", "/configs", "", overrides);
  EXPECT_EQ(config.data.source, "/data/aclImdb_v1.tar.gz");
  EXPECT_EQ(config.base.model, "/models/mine");
  EXPECT_EQ(config.resolved.at("data").at("source"), "/data/aclImdb_v1.tar.gz") << "recorded as run";
}

TEST(LabConfig, ReadsSectionsAndResolvesPathsAgainstTheConfigFolder) {
  LabConfig config = parse();
  EXPECT_EQ(config.data.source, "/configs/data/imdb.tar.gz");
  EXPECT_EQ(config.base.model, "/configs/models/base");
  EXPECT_FALSE(config.base.finetune);  // a checkpoint is not fine-tuned unless asked
  EXPECT_EQ(config.data.max_length, 128);
  EXPECT_EQ(config.lora.training.epochs, 2);
  EXPECT_DOUBLE_EQ(config.lora.training.learning_rate, 5e-5);  // Hugging Face Trainer's default
  EXPECT_FALSE(config.lora.adapter.contains("training"));
  EXPECT_EQ(config.quant_widths, (std::vector<int64_t>{4, 8, 16}));
  EXPECT_EQ(config.qat.batch_size, 8);
  EXPECT_EQ(config.prune_methods, (std::vector<std::string>{"l1-norm"}));
  EXPECT_TRUE(config.prune_activations);
}

TEST(LabConfig, AProfileMergesOverTheRestAndOverridesComeLast) {
  LabConfig quick = parse("quick");
  EXPECT_EQ(quick.data.max_length, 64);
  EXPECT_EQ(quick.quant_widths, (std::vector<int64_t>{8}));
  EXPECT_EQ(quick.prune_methods, (std::vector<std::string>{"l1-norm"}));  // untouched by the profile
  LabConfig overridden = parse("quick", {"quantize.widths=[4, 6]", "prune.training.epochs=3", "title=other"});
  EXPECT_EQ(overridden.quant_widths, (std::vector<int64_t>{4, 6}));
  EXPECT_EQ(overridden.prune_finetune.epochs, 3);
  EXPECT_EQ(overridden.title, "other");
  EXPECT_EQ(overridden.resolved.at("quantize").at("widths"), json::parse("[4, 6]"));
  EXPECT_FALSE(overridden.resolved.contains("profiles"));
}

TEST(LabConfig, MistakesNameTheFileAndKey) {
  auto message = [](const std::function<void()>& action) {
    try {
      action();
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { parse("slow"); }).find("no profile \"slow\" (profiles here: quick)"), std::string::npos);
  // A value from --set is blamed on the flag; the file's own values on the file.
  EXPECT_NE(message([] { parse("", {"quantize.widht=[4]"}); })
                .find("--set quantize.widht=[4]: quantize.widht is not a known key"),
            std::string::npos);
  EXPECT_NE(message([] { parse("", {"quantize.widths=[0]"}); }).find("--set quantize.widths=[0]: quantize.widths"),
            std::string::npos);
  EXPECT_NE(message([] { parse("", {"lora.training.epochs=0"}); }).find("lab.toml with --set lora.training.epochs=0: invalid training option"),
            std::string::npos);
  EXPECT_NE(message([] { parse("", {"data.max_length=\"long\""}); }).find("--set data.max_length=\"long\": "),
            std::string::npos);
  EXPECT_NE(message([] { parse_lab_config(json::parse(R"({"quantize": {"widths": [0]}})"), "lab.toml", "/c", "", {}); })
                .find("lab.toml: quantize.widths"),
            std::string::npos);
  EXPECT_NE(message([] { parse("", {"novalue"}); }).find("expected KEY=VALUE"), std::string::npos);
  EXPECT_NE(message([] { parse("", {"title=\"a\"\nlora.rank=0"}); }).find("spans several lines"), std::string::npos);
  EXPECT_NE(message([] { parse("", {"quantize.widths=[0]"}); }).find("quantize.widths"), std::string::npos);
  EXPECT_NE(message([] { parse("", {"prune.sparsities=[1.0]"}); }).find("prune.sparsities"), std::string::npos);
  EXPECT_NE(message([] { parse("", {"prune.methods=[\"magnitude\"]"}); }).find("magnitude"), std::string::npos);
  EXPECT_NE(message([] { parse("", {"lora.rank=0"}); }).find("rank"), std::string::npos);
  EXPECT_NE(message([] { parse("", {"data.max_length=\"long\""}); }).find("data.max_length must be an integer"),
            std::string::npos);
  EXPECT_NE(message([] { parse("", {"base.model=\"\"", "base.finetune=false"}); }).find("base.finetune"),
            std::string::npos);
  EXPECT_NE(message([] { parse("", {"data.source_required=true", "data.source=\"\""}); }).find("--data"),
            std::string::npos);
  // Re-initialising attention only makes sense for a checkpoint that is fine-tuned.
  EXPECT_NE(message([] { parse("", {"base.reinit_query_key=1"}); }).find("base.reinit_query_key needs"),
            std::string::npos);
  EXPECT_NE(message([] { parse("", {"base.finetune=true", "base.reinit_query_key=-1"}); })
                .find("base.reinit_query_key must be 0 or more"),
            std::string::npos);
}

TEST(LabConfig, ReadsTheBaseReinitialisation) {
  EXPECT_EQ(parse().base.reinit_query_key, 0);
  EXPECT_EQ(parse("", {"base.finetune=true", "base.reinit_query_key=1"}).base.reinit_query_key, 1);
}

}  // namespace
}  // namespace whittle::experiments

namespace whittle::experiments {
namespace {

// The lab as shipped follows Mase's tutorials: one epoch of QAT (tutorial 3)
// and five of fine-tuning after pruning (tutorial 4); the quick profile
// fine-tunes the pruned models for one epoch to stay within minutes.
TEST(ShippedLabConfig, EpochsPerStageComeFromTheProfile) {
  const auto path = std::filesystem::path(WHITTLE_TEST_FIXTURES).parent_path().parent_path() / "configs" / "lab1.toml";
  LabConfig full = load_lab_config(path, "full", LabOverrides{{"data.source=\"imdb.tar.gz\""}});
  EXPECT_EQ(full.lora.training.epochs, 1);
  EXPECT_EQ(full.qat.epochs, 1);
  EXPECT_EQ(full.prune_finetune.epochs, 5);
  for (const auto* options : {&full.lora.training, &full.qat, &full.prune_finetune}) {
    EXPECT_EQ(options->batch_size, 8);  // Hugging Face Trainer's defaults, as in Mase
    EXPECT_DOUBLE_EQ(options->learning_rate, 5e-5);
    EXPECT_DOUBLE_EQ(options->weight_decay, 0.0);
    EXPECT_DOUBLE_EQ(options->warmup_ratio, 0.0);
    EXPECT_DOUBLE_EQ(options->max_grad_norm, 1.0);
  }
  EXPECT_EQ(full.data.max_length, 512);
  // Mase's tutorials keep the embeddings frozen from LoRA on.
  EXPECT_TRUE(full.qat.freeze_embeddings);
  EXPECT_TRUE(full.prune_finetune.freeze_embeddings);

  LabConfig quick = load_lab_config(path, "quick");
  EXPECT_EQ(quick.qat.epochs, 1);
  EXPECT_EQ(quick.prune_finetune.epochs, 1);
  EXPECT_EQ(load_lab_config(path, "quick", LabOverrides{{"prune.training.epochs=3"}}).prune_finetune.epochs, 3);
}

}  // namespace
}  // namespace whittle::experiments

namespace whittle::experiments {
namespace {

TEST(LabConfig, MixedStageIsOffUnlessEnabledAndItsKeysAreChecked) {
  EXPECT_FALSE(parse().mixed.enabled);
  LabConfig mixed = parse("", {"mixed.enabled=true", "mixed.budget_points=0.3", "mixed.validation_size=500",
                               "mixed.widths=[4, 6, 8]", "mixed.training.epochs=2"});
  EXPECT_TRUE(mixed.mixed.enabled);
  EXPECT_DOUBLE_EQ(mixed.mixed.budget_points, 0.3);
  EXPECT_EQ(mixed.mixed.validation_size, 500);
  EXPECT_EQ(mixed.mixed.widths, (std::vector<int64_t>{4, 6, 8}));
  EXPECT_EQ(mixed.mixed.training.epochs, 2);
  EXPECT_TRUE(mixed.mixed.training.freeze_embeddings);
  EXPECT_THROW(parse("", {"mixed.budget_points=-1"}), Error);
  EXPECT_THROW(parse("", {"mixed.widths=[1]"}), Error);
  EXPECT_THROW(parse("", {"mixed.budget=1"}), Error);
}

}  // namespace
}  // namespace whittle::experiments
