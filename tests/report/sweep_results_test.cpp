#include "report/sweep_results.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::report {
namespace {

const std::filesystem::path kFixtures = std::filesystem::path(WHITTLE_TEST_FIXTURES) / "report";

nlohmann::json fixture(const char* name) { return nlohmann::json::parse(read_file(kFixtures / name)); }

TEST(SweepResults, QuantizationPointsBecomeOneRowPerWidth) {
  QuantSweepRows quant = quant_rows_from_results(fixture("quant-results.json"));
  EXPECT_EQ(quant.baseline_accuracy, 0.8724);
  ASSERT_TRUE(quant.baseline_size);
  EXPECT_EQ(quant.baseline_size->linear, 1048576);
  ASSERT_EQ(quant.rows.size(), 2u);
  const QuantRow& w4 = quant.rows[0];
  EXPECT_EQ(w4.width, 4);
  EXPECT_EQ(w4.frac_width, 2);
  EXPECT_EQ(w4.ptq_accuracy, 0.5);
  EXPECT_EQ(w4.qat_accuracy, 0.5012);
  ASSERT_TRUE(w4.size);  // only the QAT point has one
  EXPECT_EQ(w4.size->linear, 131072);
  const QuantRow& w8 = quant.rows[1];
  EXPECT_EQ(w8.ptq_accuracy, 0.86964);
  EXPECT_EQ(w8.qat_accuracy, 0.871);
  ASSERT_TRUE(w8.size);  // the PTQ point's size wins
  EXPECT_EQ(w8.size->linear, 262144);
  EXPECT_EQ(w8.size->total, 3407872);
}

TEST(SweepResults, PruningPointsBecomeRowsInRecordedOrder) {
  PruneSweepRows prune = prune_rows_from_results(fixture("prune-results.json"));
  EXPECT_EQ(prune.baseline_accuracy, 0.871);
  EXPECT_FALSE(prune.baseline_size);
  ASSERT_EQ(prune.rows.size(), 2u);
  EXPECT_EQ(prune.rows[0].method, "random");
  EXPECT_DOUBLE_EQ(prune.rows[0].sparsity, 0.5);
  EXPECT_EQ(prune.rows[0].accuracy_after_pruning, 0.5);
  EXPECT_EQ(prune.rows[0].best_accuracy, 0.5151);
  EXPECT_EQ(prune.rows[0].measured_sparsity, 0.5003);
  ASSERT_TRUE(prune.rows[0].size);
  EXPECT_EQ(prune.rows[0].size->total, 3284992);
  EXPECT_EQ(prune.rows[1].method, "l1-norm");
  EXPECT_EQ(prune.rows[1].best_accuracy, 0.8612);
  EXPECT_FALSE(prune.rows[1].size);
}

TEST(SweepResults, APrunedPointsFinalAccuracyIsItsLastEpochsAndMayBeBelowTheHighest) {
  PruneSweepRows prune = prune_rows_from_results(fixture("prune-results.json"));
  EXPECT_EQ(prune.rows[0].final_accuracy, 0.5151);
  EXPECT_EQ(prune.rows[1].final_accuracy, 0.8551);
  EXPECT_GT(*prune.rows[1].best_accuracy, *prune.rows[1].final_accuracy);

  nlohmann::json no_epochs = fixture("prune-results.json");
  no_epochs["points"][1]["value"]["epochs"] = nlohmann::json::array();
  EXPECT_FALSE(prune_rows_from_results(no_epochs).rows[0].final_accuracy);
  nlohmann::json malformed = fixture("prune-results.json");
  malformed["points"][1]["value"]["epochs"] = 1;
  try {
    prune_rows_from_results(malformed);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "sweep results: point \"random/s0.50\" has a malformed \"epochs\"");
  }
}

TEST(SweepResults, APointWithoutAFieldTheRowsNeedIsAnErrorNamingIt) {
  nlohmann::json document = fixture("prune-results.json");
  document["points"][1]["value"].erase("measured_weight_sparsity");
  try {
    prune_rows_from_results(document);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "sweep results: point \"random/s0.50\" has no \"measured_weight_sparsity\"");
  }
  EXPECT_THROW(quant_rows_from_results(nlohmann::json::object()), Error);
  nlohmann::json unknown = fixture("quant-results.json");
  unknown["points"][1]["value"]["mode"] = "int";
  EXPECT_THROW(quant_rows_from_results(unknown), Error);
}

TEST(SweepResults, TheRealQuantizationSweepFileReads) {
  const auto path = std::filesystem::path(WHITTLE_TEST_FIXTURES).parent_path().parent_path() / "docs" / "results" /
                    "quant" / "results.json";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  QuantSweepRows quant = quant_rows_from_results(nlohmann::json::parse(read_file(path)));
  EXPECT_TRUE(quant.baseline_accuracy);
  EXPECT_FALSE(quant.rows.empty());
}

}  // namespace
}  // namespace whittle::report
