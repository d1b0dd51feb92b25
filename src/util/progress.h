#pragma once
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace whittle {

// A progress line for long work: done/total, percentage, rate and ETA,
// redrawn at most a few times per second on a terminal and every few seconds
// otherwise (so that logs stay readable).
class Progress {
 public:
  Progress(std::string label, int64_t total_steps, std::ostream& out);
  // Records that `steps` more steps are done, which covered `tokens` tokens.
  void advance(int64_t steps, int64_t tokens = 0, const std::string& detail = "");
  // Prints the final line with the total time.
  void finish(const std::string& detail = "");
  double elapsed_seconds() const;
  double tokens_per_second() const;

 private:
  void print(const std::string& detail, bool final_line);

  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  int64_t tokens_ = 0;
  std::ostream& out_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

std::string format_duration(double seconds);

}  // namespace whittle
