#include "report/plot.h"

#include <sys/resource.h>
#include <sys/statvfs.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <string_view>

#include "util/atomic_file.h"
#include "util/child_process.h"
#include "util/error.h"
#include "util/temporaries.h"

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
  // whittle draws into temporary files (given with -e) and renames them
  // once they are complete; run by hand, the script draws to the figures.
  gp << "if (!exists(\"png_file\")) png_file = " << quoted(base.string() + ".png") << "\n"
     << "if (!exists(\"svg_file\")) svg_file = " << quoted(base.string() + ".svg") << "\n"
     << "set terminal pngcairo size 900,600 enhanced font 'sans,11'\n"
     << "set output png_file\nplot " << commands.str() << "\n"
     << "set terminal svg size 900,600 enhanced font 'sans,11'\n"
     << "set output svg_file\nplot " << commands.str() << "\n"
     << "unset output\n";
  return gp.str();
}

// Why a figure came out incomplete: gnuplot exits with success even when it
// could not write all of it.
std::string cause_of_incomplete(const std::filesystem::path& file) {
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  struct rlimit limit {};
  if (!error && ::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && size >= limit.rlim_cur) {
    return std::strerror(EFBIG);
  }
  struct statvfs disk {};
  constexpr unsigned long long kNearlyFull = 1 << 20;
  if (::statvfs(file.parent_path().c_str(), &disk) == 0 &&
      static_cast<unsigned long long>(disk.f_bavail) * disk.f_frsize < kNearlyFull) {
    return std::strerror(ENOSPC);
  }
  return "gnuplot wrote it only in part";
}

// Whether `file` ends as a complete figure of its format: PNG's closing
// chunk, SVG's closing tag.
bool is_complete_figure(const std::filesystem::path& file, bool png) {
  std::error_code error;
  if (!std::filesystem::exists(file, error)) return false;
  std::string content = read_file(file);
  if (png) return content.ends_with(std::string_view("IEND\xAE\x42\x60\x82", 8));
  while (!content.empty() && std::isspace(static_cast<unsigned char>(content.back()))) content.pop_back();
  return content.ends_with("</svg>");
}

void run_gnuplot(const std::filesystem::path& script_path, const std::filesystem::path& png,
                 const std::filesystem::path& svg) {
  ProgramOutcome run = run_program({"gnuplot", "-e", "png_file=" + quoted(png.string()) + "; svg_file=" + quoted(svg.string()),
                                    script_path.string()});
  if (run.exit_code != 0) {
    const std::string& output = run.output;
    throw Error("gnuplot failed on " + script_path.string() + (output.empty() ? "" : ": " + output.substr(0, output.find('\n'))) +
                (run.exit_code == 127 ? " (is gnuplot installed? run scripts/setup.sh)" : ""));
  }
}

}  // namespace

void draw(const LinePlot& plot, const std::filesystem::path& base) {
  validate(plot);
  std::filesystem::path script_path = base;
  script_path += ".gp";
  write_file_atomically(script_path, script(plot, base));
  const std::filesystem::path figures[] = {base.string() + ".png", base.string() + ".svg"};
  const std::filesystem::path drawn[] = {temporary_path_for(figures[0]), temporary_path_for(figures[1])};
  std::error_code ignored;
  try {
    run_gnuplot(script_path, drawn[0], drawn[1]);
    for (int i = 0; i < 2; ++i) {
      if (!is_complete_figure(drawn[i], i == 0)) {
        throw Error("cannot write " + figures[i].string() + ": " + cause_of_incomplete(drawn[i]));
      }
      sync_file(drawn[i]);
    }
    for (int i = 0; i < 2; ++i) {
      remove_stale_temporaries_of(figures[i]);
      std::filesystem::rename(drawn[i], figures[i]);
    }
  } catch (...) {
    for (const auto& file : drawn) std::filesystem::remove(file, ignored);
    throw;
  }
}

}  // namespace whittle::report
