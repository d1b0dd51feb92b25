#include "report/sweep_records.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "report/sweep_results.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::report {
namespace {

namespace fs = std::filesystem;

Evaluation evaluation(double accuracy) { return {accuracy, 0.25, 1000, 4.5, 120000.0}; }

EpochRecord epoch(int64_t number, double accuracy) { return {number, 0.3, 60.0, 45000.0, evaluation(accuracy)}; }

TEST(SweepRecords, QuantPointsRoundTripThroughTheirJson) {
  QuantPoint qat;
  qat.mode = QuantMode::qat;
  qat.width = 6;
  qat.frac_width = 3;
  qat.accuracy = 0.87;
  qat.epochs = {epoch(1, 0.86), epoch(2, 0.87)};
  qat.best_epoch = 2;
  qat.model = "models/qat-w6";
  qat.earlier_accuracy = 0.869;
  qat.size = nlohmann::json{{"linear_bits", 10}, {"total_bits", 20}};
  nlohmann::json written = qat;
  EXPECT_EQ(written.at("mode"), "qat");
  QuantPoint read = quant_point_from_json(written, key_of(qat));
  EXPECT_EQ(nlohmann::json(read), written);
  EXPECT_EQ(key_of(read), "qat/w6");

  QuantPoint ptq;
  ptq.width = 8;
  ptq.frac_width = 4;
  ptq.test = evaluation(0.8774);
  ptq.accuracy = 0.8774;
  nlohmann::json ptq_json = ptq;
  EXPECT_FALSE(ptq_json.contains("epochs"));
  EXPECT_EQ(nlohmann::json(quant_point_from_json(ptq_json, "ptq/w8")), ptq_json);
  EXPECT_EQ(key_of(ptq), "ptq/w8");
}

TEST(SweepRecords, QuantPointsWithoutAModeAreToldApartByWhetherTheyTrained) {
  QuantPoint qat;
  qat.mode = QuantMode::qat;
  qat.width = 8;
  qat.epochs = {epoch(1, 0.87)};
  nlohmann::json older = qat;
  older.erase("mode");
  EXPECT_EQ(quant_point_from_json(older, "any key").mode, QuantMode::qat);
  older.erase("epochs");
  older["test"] = evaluation(0.5);
  EXPECT_EQ(quant_point_from_json(older, "any key").mode, QuantMode::ptq);
}

TEST(SweepRecords, PrunePointsRoundTripAndKnowTheirFinalAccuracy) {
  PrunePoint point;
  point.method = "l1-norm";
  point.sparsity = 0.5;
  point.measured_weight_sparsity = 0.51;
  point.layers = nlohmann::json::array({{{"name", "bert.encoder.layer.0.attention.self.query"}}});
  point.after_pruning = evaluation(0.55);
  point.epochs = {epoch(1, 0.83), epoch(2, 0.82)};
  point.best_epoch = 1;
  point.accuracy = 0.83;
  nlohmann::json written = point;
  PrunePoint read = prune_point_from_json(written, key_of(point));
  EXPECT_EQ(nlohmann::json(read), written);
  EXPECT_EQ(key_of(read), "l1-norm/s0.50");
  EXPECT_EQ(read.final_accuracy(), 0.82);
  read.epochs.clear();
  EXPECT_FALSE(read.final_accuracy());
}

TEST(SweepRecords, AMalformedRecordIsAnErrorNamingItsKeyAndField) {
  PrunePoint point;
  point.method = "random";
  nlohmann::json written = point;
  written["after_pruning"].erase("loss");
  try {
    prune_point_from_json(written, "random/s0.10");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "sweep results: point \"random/s0.10 after_pruning\" has no \"loss\"");
  }
  nlohmann::json unknown_mode = QuantPoint{};
  unknown_mode["mode"] = "int";
  EXPECT_THROW(quant_point_from_json(unknown_mode, "int/w8"), Error);
}

// Every result file committed under docs/results reads as records: the
// format the sweeps write now is the one they wrote for those runs.
TEST(SweepRecords, EveryCommittedSweepResultReads) {
  const fs::path docs = fs::path(WHITTLE_TEST_FIXTURES).parent_path().parent_path() / "docs" / "results";
  if (!fs::exists(docs)) GTEST_SKIP() << docs << " not present";
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(docs)) {
    if (entry.path().filename() != "results.json") continue;
    nlohmann::json document = nlohmann::json::parse(read_file(entry.path()));
    if (!document.contains("signature") || !document.at("signature").contains("sweep")) continue;
    const std::string sweep = document.at("signature").at("sweep");
    SCOPED_TRACE(entry.path().string());
    if (sweep == "quantization") {
      EXPECT_FALSE(quant_rows_from_results(document).rows.empty());
    } else {
      EXPECT_FALSE(prune_rows_from_results(document).rows.empty());
    }
    ++files;
  }
  EXPECT_GT(files, 0);
}

}  // namespace
}  // namespace whittle::report
