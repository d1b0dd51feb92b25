#pragma once
// A full disk, simulated in the test's own process: while a FileSizeLimit
// lives, a write that would make a file larger than the limit fails with
// EFBIG ("File too large"), as one on a full disk fails with ENOSPC.
#include <signal.h>
#include <sys/resource.h>

#include <cstdint>
#include <stdexcept>

namespace whittle::test_support {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes) {
    if (::getrlimit(RLIMIT_FSIZE, &saved_) != 0) throw std::runtime_error("getrlimit failed");
    saved_signal_ = ::signal(SIGXFSZ, SIG_IGN);  // else the kernel ends the process
    struct rlimit limit = saved_;
    limit.rlim_cur = bytes;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) throw std::runtime_error("setrlimit failed");
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, saved_signal_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  struct rlimit saved_ {};
  sighandler_t saved_signal_ = SIG_DFL;
};

}  // namespace whittle::test_support
