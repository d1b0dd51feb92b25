#include "report/plot.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::report {
namespace {

std::string quoted(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return "\"" + escaped + "\"";
}

// Data-block strings are double-quoted and gnuplot reads no escapes there.
std::string data_label(const std::string& text) {
  std::string label;
  for (char c : text) label += (c == '"' || c == '\n') ? '\'' : c;
  return "\"" + label + "\"";
}

void validate(const LinePlot& plot) {
  for (const auto& series : plot.series) {
    if (!series.labels.empty() && series.labels.size() != series.points.size()) {
      throw Error("plot \"" + plot.title + "\": series \"" + series.name + "\" has " +
                  std::to_string(series.labels.size()) + " labels for " + std::to_string(series.points.size()) +
                  " points");
    }
    if (!plot.log_x) continue;
    for (const auto& point : series.points) {
      if (!(point.first > 0.0)) {
        throw Error("plot \"" + plot.title + "\": series \"" + series.name + "\" has x = " +
                    std::to_string(point.first) + " on a logarithmic x axis");
      }
    }
  }
}

std::string script(const LinePlot& plot, const std::filesystem::path& base) {
  std::ostringstream gp;
  gp.precision(10);
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const Series& series = plot.series[i];
    gp << "$series" << i << " << EOD\n";
    for (std::size_t p = 0; p < series.points.size(); ++p) {
      gp << series.points[p].first << " " << series.points[p].second;
      if (!series.labels.empty()) gp << " " << data_label(series.labels[p]);
      gp << "\n";
    }
    gp << "EOD\n";
  }
  gp << "set title " << quoted(plot.title) << "\n"
     << "set xlabel " << quoted(plot.x_label) << "\n"
     << "set ylabel " << quoted(plot.y_label) << "\n"
     << "set grid\nset key bottom right\n";
  if (plot.log_x) gp << "set logscale x\n";
  if (plot.y_range) gp << "set yrange [" << plot.y_range->first << ":" << plot.y_range->second << "]\n";
  if (!plot.x_ticks.empty()) {
    gp << "set xtics (";
    for (std::size_t i = 0; i < plot.x_ticks.size(); ++i) gp << (i ? ", " : "") << plot.x_ticks[i];
    gp << ")\n";
  }
  std::ostringstream commands;
  const char* separator = "";
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    commands << separator << "$series" << i << " using 1:2 with linespoints lw 2 pt 7 title "
             << quoted(plot.series[i].name);
    separator = ", ";
  }
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    if (plot.series[i].labels.empty()) continue;
    commands << separator << "$series" << i
             << " using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle";
    separator = ", ";
  }
  for (const auto& line : plot.references) {
    commands << separator << line.y << " with lines dt 2 lw 2 title " << quoted(line.name);
    separator = ", ";
  }
  gp << "set terminal pngcairo size 900,600 enhanced font 'sans,11'\n"
     << "set output " << quoted(base.string() + ".png") << "\nplot " << commands.str() << "\n"
     << "set terminal svg size 900,600 enhanced font 'sans,11'\n"
     << "set output " << quoted(base.string() + ".svg") << "\nplot " << commands.str() << "\n"
     << "unset output\n";
  return gp.str();
}

}  // namespace

void draw(const LinePlot& plot, const std::filesystem::path& base) {
  validate(plot);
  std::filesystem::path script_path = base;
  script_path += ".gp";
  write_file_atomically(script_path, script(plot, base));
  std::string command = "gnuplot " + quoted(script_path.string()) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw Error("cannot run gnuplot (install gnuplot-nox: scripts/setup.sh)");
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  int status = pclose(pipe);
  if (status != 0) {
    throw Error("gnuplot failed on " + script_path.string() + (output.empty() ? "" : ": " + output.substr(0, output.find('\n'))) +
                (WEXITSTATUS(status) == 127 ? " (is gnuplot installed? run scripts/setup.sh)" : ""));
  }
}

}  // namespace whittle::report
