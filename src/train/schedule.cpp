#include "train/schedule.h"

#include <algorithm>

namespace whittle::train {

LinearSchedule::LinearSchedule(double peak_rate, int64_t warmup_steps, int64_t total_steps)
    : peak_(peak_rate), warmup_(warmup_steps), total_(total_steps) {}

double LinearSchedule::rate(int64_t step) const {
  if (step < warmup_) return peak_ * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_));
  double remaining = static_cast<double>(total_ - step) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
  return peak_ * std::max(0.0, remaining);
}

}  // namespace whittle::train
