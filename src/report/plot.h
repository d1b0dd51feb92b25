#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace whittle::report {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in this order
  // Empty, or one text per point written next to it ("w8", "s0.5").
  std::vector<std::string> labels = {};
};

struct ReferenceLine {
  std::string name;
  double y;
};

struct LinePlot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  std::vector<ReferenceLine> references;  // horizontal lines, e.g. the baseline
  std::vector<double> x_ticks;            // empty: gnuplot's choice
  bool log_x = false;                     // logarithmic x axis; every x must then be > 0
  // The y axis from first to second; points outside are left off. None: gnuplot's choice.
  std::optional<std::pair<double, double>> y_range = std::nullopt;
};

// Draws the plot with gnuplot into `<base>.png` and `<base>.svg`, keeping
// `<base>.gp` (the script, with the data inline) so it can be re-drawn or
// edited. Throws whittle::Error when gnuplot is missing or fails, when a
// series has labels for some points only, or, with log_x, an x <= 0.
void draw(const LinePlot& plot, const std::filesystem::path& base);

}  // namespace whittle::report
