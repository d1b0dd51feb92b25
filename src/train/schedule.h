#pragma once
#include <cstdint>

namespace whittle::train {

// Linear warm-up from 0 to the peak rate, then linear decay to 0 at the last
// step (Hugging Face's get_linear_schedule_with_warmup).
class LinearSchedule {
 public:
  LinearSchedule(double peak_rate, int64_t warmup_steps, int64_t total_steps);
  double rate(int64_t step) const;

 private:
  double peak_;
  int64_t warmup_;
  int64_t total_;
};

}  // namespace whittle::train
