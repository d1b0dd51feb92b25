// The mixed-precision search end to end on a tiny model of the contains-seven
// task: the sensitivity table's shape and determinism, the budget, resuming.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "experiments/compressed_model.h"
#include "experiments/mixed/mixed_search.h"
#include "experiments/mixed/model_pool.h"
#include "experiments/mixed/validation_split.h"
#include "experiments/result_store.h"
#include "support/synthetic_task.h"
#include "support/task_training.h"
#include "support/temp_dir.h"
#include "util/atomic_file.h"

namespace whittle::experiments {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::TempDir;

// A tiny classifier trained on the task, saved once for every test here.
class MixedSearchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new TempDir();
    auto model = model::new_classifier(test_support::tiny_task_config(), 0);
    test_support::train_on_contains_seven(model);
    save_compressed(base(), model, {{"note", "test"}}, {});
  }
  static void TearDownTestSuite() {
    delete directory_;
    directory_ = nullptr;
  }
  static fs::path base() { return directory_->path() / "base"; }

  static MixedSearchOptions options(const fs::path& out) {
    MixedSearchOptions options;
    options.base_model = base();
    options.out_dir = out;
    options.eval = {64, 8};
    options.data_description = {{"task", "contains seven"}};
    options.widths = {2, 3, 4, 8};
    options.input_width = 8;
    options.validation_size = 120;
    options.calibration_size = 16;
    options.fisher_size = 16;
    options.budget_points = 2.0;
    options.front_points = 2;
    options.refine_evaluations = 6;
    options.qat.epochs = 1;
    options.qat.batch_size = 16;
    options.qat.learning_rate = 1e-3;
    options.qat_train_limit = 200;
    options.test_uniform_widths = {4};
    return options;
  }

  static data::TokenizedDataset train_set() { return test_support::contains_seven_task(500, 11); }
  static data::TokenizedDataset test_set() { return test_support::contains_seven_task(150, 12); }

  static inline TempDir* directory_ = nullptr;
};

TEST_F(MixedSearchTest, StaysWithinTheBudgetAndWritesItsOutputs) {
  TempDir dir;
  const MixedSearchOptions settings = options(dir / "search");
  std::ostringstream log;
  const MixedSearchSummary summary = run_mixed_search(settings, train_set(), test_set(), log);

  ASSERT_TRUE(summary.budget_met) << log.str();
  EXPECT_GE(summary.chosen_validation_accuracy, summary.float_validation_accuracy - 0.02 - 1e-12);
  EXPECT_DOUBLE_EQ(summary.target_accuracy, summary.float_validation_accuracy - 0.02);
  EXPECT_LT(summary.chosen_bits.average(), 8.0) << "the widest candidate is 8 bits; the search found nothing to save";
  EXPECT_GT(summary.evaluations, 0);

  // The budget holds for the chosen formats measured afresh, outside the search.
  const ValidationSplit split = split_validation(train_set(), settings.validation_size, settings.validation_seed);
  ModelPool pool(base(), 0);
  std::ostream quiet(nullptr);
  const auto remeasured = evaluate_formats(pool, summary.chosen, split.validation, settings.eval, quiet);
  EXPECT_DOUBLE_EQ(remeasured.accuracy, summary.chosen_validation_accuracy);

  for (const char* file : {"summary.json", "mixed-config.toml", "mixed-config.json", "sensitivity.csv",
                           "sensitivity.json", "pareto.csv", "pareto.json", "pareto.png", "pareto.svg"}) {
    EXPECT_TRUE(fs::is_regular_file(settings.out_dir / file)) << file;
  }
  EXPECT_TRUE(fs::is_regular_file(settings.out_dir / "models" / "mixed-ptq" / "model.safetensors"));
  EXPECT_TRUE(fs::is_regular_file(settings.out_dir / "models" / "mixed-qat" / "model.safetensors"));
  const json test = summary.test;
  ASSERT_EQ(test.size(), 5u) << test.dump();  // float, uniform w4 twice, mixed PTQ and QAT
  EXPECT_EQ(test[0].at("model"), "float32");
  EXPECT_EQ(test[0].at("average_bits"), 32.0);
}

TEST_F(MixedSearchTest, SensitivityTableHasEveryTensorAtEveryWidthAndRepeatsExactly) {
  TempDir dir;
  MixedSearchOptions first = options(dir / "first");
  first.run_qat = false;
  first.evaluate_test = false;
  first.refine_evaluations = 0;
  MixedSearchOptions second = first;
  second.out_dir = dir / "second";
  std::ostringstream log;
  run_mixed_search(first, train_set(), test_set(), log);
  run_mixed_search(second, train_set(), test_set(), log);

  const json table = json::parse(read_file(first.out_dir / "sensitivity.json"));
  // 8 Linears (Q, K, V, attention output, intermediate, output in each of 2
  // layers is 12, plus pooler and classifier: 14), 3 tensors each, 4 widths.
  ASSERT_EQ(table.at("rows").size(), 14u * 3u * 4u);
  const json& row = table.at("rows").at(0);
  EXPECT_EQ(row.at("linear"), "bert.encoder.layer.0.attention.self.query");
  EXPECT_EQ(row.at("tensor"), "input");
  EXPECT_EQ(row.at("width"), 2);
  for (const char* field : {"frac_width", "loss", "accuracy", "loss_increase", "accuracy_points_lost", "fisher"}) {
    EXPECT_TRUE(row.contains(field)) << field;
  }
  EXPECT_FALSE(table.at("rank_agreement").empty());
  const std::string csv = read_file(first.out_dir / "sensitivity.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 14 * 3 * 4);
  EXPECT_EQ(csv, read_file(second.out_dir / "sensitivity.csv"));
  EXPECT_EQ(table, json::parse(read_file(second.out_dir / "sensitivity.json")));
}

TEST_F(MixedSearchTest, ResumedSearchMeasuresNothingAgain) {
  TempDir dir;
  MixedSearchOptions settings = options(dir / "search");
  settings.evaluate_test = false;
  std::ostringstream log;
  const MixedSearchSummary first = run_mixed_search(settings, train_set(), test_set(), log);
  const size_t stored = ResultStore::open_existing(settings.out_dir / "results.json").points().size();
  const std::string first_config = read_file(settings.out_dir / "mixed-config.toml");

  std::ostringstream second_log;
  const MixedSearchSummary second = run_mixed_search(settings, train_set(), test_set(), second_log);
  EXPECT_EQ(ResultStore::open_existing(settings.out_dir / "results.json").points().size(), stored);
  EXPECT_EQ(second.chosen, first.chosen);
  EXPECT_EQ(read_file(settings.out_dir / "mixed-config.toml"), first_config);
  EXPECT_NE(log.str().find("training reviews"), std::string::npos) << log.str();
  EXPECT_EQ(second_log.str().find("training reviews"), std::string::npos) << "QAT ran again: " << second_log.str();
}

}  // namespace
}  // namespace whittle::experiments
