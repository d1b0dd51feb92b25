#include "util/runtime.h"

#include <ctime>

#include <malloc.h>
#include <sys/resource.h>

#include <thread>

#include <torch/torch.h>

namespace whittle {

void configure_runtime(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  // Buffers up to 256 MiB come from the heap instead of fresh mmaps, and the
  // heap top is not trimmed back to the OS after every step. Batches are
  // padded to a few distinct lengths, so the freed blocks fit the next step.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_ARENA_MAX, 2);
}

long peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss * 1024L;
}

double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

}  // namespace whittle
