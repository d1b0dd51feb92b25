#pragma once

namespace whittle {

// Process-wide settings that make LibTorch fast on a small CPU machine:
// intra-op threads (Debian's LibTorch starts with 1), and glibc malloc
// thresholds raised so that the large activation buffers of each step are
// reused instead of being unmapped and faulted in again. Call once from main.
void configure_runtime(int threads);

// Peak resident memory of this process so far, in bytes.
long peak_resident_bytes();

// CPU time of all threads of this process so far: unlike wall time, it does
// not grow while other processes hold the cores.
double process_cpu_seconds();

}  // namespace whittle
