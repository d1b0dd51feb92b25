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

std::string script(const LinePlot& plot, const std::filesystem::path& base) {
  std::ostringstream gp;
  gp.precision(10);
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    gp << "$series" << i << " << EOD\n";
    for (const auto& [x, y] : plot.series[i].points) gp << x << " " << y << "\n";
    gp << "EOD\n";
  }
  gp << "set title " << quoted(plot.title) << "\n"
     << "set xlabel " << quoted(plot.x_label) << "\n"
     << "set ylabel " << quoted(plot.y_label) << "\n"
     << "set grid\nset key bottom right\n";
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
