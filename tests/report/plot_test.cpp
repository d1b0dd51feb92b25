#include "report/plot.h"

#include <gtest/gtest.h>

#include "support/file_size_limit.h"
#include "support/output_checks.h"
#include "support/temp_dir.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::report {
namespace {

namespace fs = std::filesystem;
using test_support::contains;

std::string error_of(const LinePlot& plot, const fs::path& base) {
  try {
    draw(plot, base);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(Plot, DrawsLabelledPointsOnALogarithmicXAxis) {
  test_support::TempDir dir;
  LinePlot plot{"sizes", "KiB", "accuracy", {}, {}, {}};
  plot.log_x = true;
  plot.series.push_back({"QAT", {{16.0, 0.80}, {32.0, 0.87}}, {"w4", "w8"}});
  plot.series.push_back({"unlabelled", {{100.0, 0.5}}});
  draw(plot, dir.path() / "sizes");
  ASSERT_NO_FATAL_FAILURE(test_support::expect_figure_files(dir.path() / "sizes"));
  std::string script = read_file(dir.path() / "sizes.gp");
  test_support::expect_contains_all(script,
                                    {"set logscale x\n", "32 0.87 \"w8\"\n", "$series0 using 1:2:3 with labels"});
  EXPECT_FALSE(contains(script, "$series1 using 1:2:3"));
  std::string svg = read_file(dir.path() / "sizes.svg");
  EXPECT_TRUE(contains(svg, ">w8<")) << "the label is drawn";
}

TEST(Plot, PlotsWithoutTheNewOptionsDrawAsBefore) {
  test_support::TempDir dir;
  LinePlot plot{"plain", "x", "y", {{"s", {{1.0, 2.0}, {2.0, 3.0}}}}, {{"base", 2.5}}, {1.0, 2.0}};
  draw(plot, dir.path() / "plain");
  std::string script = read_file(dir.path() / "plain.gp");
  test_support::expect_contains_none(script, {"logscale", "with labels"});
  EXPECT_TRUE(contains(script, "1 2\n2 3\nEOD\n"));
}

TEST(Plot, LabelsForSomePointsOnlyOrNonPositiveXOnALogAxisAreErrors) {
  test_support::TempDir dir;
  LinePlot labels{"t", "x", "y", {{"QAT", {{1.0, 2.0}, {2.0, 3.0}}, {"only one"}}}, {}, {}};
  EXPECT_TRUE(contains(error_of(labels, dir.path() / "a"), "series \"QAT\" has 1 labels for 2 points"));
  LinePlot log{"t", "x", "y", {{"PTQ", {{0.0, 2.0}}}}, {}, {}};
  log.log_x = true;
  EXPECT_TRUE(contains(error_of(log, dir.path() / "b"), "series \"PTQ\" has x = 0"));
  EXPECT_FALSE(fs::exists(dir.path() / "a.gp"));
}


// gnuplot exits with success when it cannot write a figure in full (a
// full disk): the figure must not stand there incomplete.
TEST(Plot, AFigureTheDiskHasNoRoomForIsAnErrorAndLeavesNoPartOfIt) {
  test_support::TempDir dir;
  LinePlot plot{"full", "x", "y", {{"s", {{1.0, 2.0}, {2.0, 3.0}}}}, {}, {}};
  std::string message;
  {
    test_support::FileSizeLimit limit(4096);
    message = error_of(plot, dir.path() / "full");
  }
  EXPECT_EQ(message, "cannot write " + (dir.path() / "full.png").string() + ": File too large");
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename(), "full.gp") << "only the script, which fits";
  }
}

}  // namespace
}  // namespace whittle::report
