#include "util/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <ostream>

namespace whittle {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = static_cast<int64_t>(std::llround(seconds));
  char buffer[32];
  if (total >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", static_cast<long long>(total / 3600),
                  static_cast<long long>(total % 3600 / 60));
  } else if (total >= 60) {
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  } else {
    std::snprintf(buffer, sizeof buffer, "%llds", static_cast<long long>(total));
  }
  return buffer;
}

Progress::Progress(std::string label, int64_t total_steps, std::ostream& out)
    : label_(std::move(label)),
      total_(total_steps),
      out_(out),
      // Redrawing in place suits a terminal only; a log file (or a tee to one) gets whole lines.
      terminal_(&out == &std::cerr && ::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double Progress::tokens_per_second() const {
  double elapsed = elapsed_seconds();
  return elapsed > 0 ? static_cast<double>(tokens_) / elapsed : 0.0;
}

void Progress::advance(int64_t steps, int64_t tokens, const std::string& detail) {
  done_ += steps;
  tokens_ += tokens;
  auto now = std::chrono::steady_clock::now();
  double since_print = std::chrono::duration<double>(now - last_print_).count();
  if (since_print >= (terminal_ ? 0.5 : 10.0)) {
    last_print_ = now;
    print(detail, false);
  }
}

void Progress::finish(const std::string& detail) { print(detail, true); }

void Progress::print(const std::string& detail, bool final_line) {
  double elapsed = elapsed_seconds();
  double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  char head[160];
  std::snprintf(head, sizeof head, "%s %lld/%lld [%3.0f%%]", label_.c_str(),
                static_cast<long long>(done_), static_cast<long long>(total_), 100.0 * fraction);
  std::string line = head;
  if (tokens_ > 0) {
    char rate[48];
    std::snprintf(rate, sizeof rate, " %.1fk tok/s", tokens_per_second() / 1000.0);
    line += rate;
  }
  if (final_line) {
    line += " in " + format_duration(elapsed);
  } else if (done_ > 0) {
    line += " ETA " + format_duration(elapsed * (1.0 - fraction) / fraction);
  }
  if (!detail.empty()) line += " " + detail;
  if (terminal_ && !final_line) {
    out_ << "\r\033[K" << line << std::flush;
  } else {
    out_ << (terminal_ ? "\r\033[K" : "") << line << "\n" << std::flush;
  }
}

}  // namespace whittle
