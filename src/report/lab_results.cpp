#include "report/lab_results.h"

#include <cstdio>

namespace whittle::report {

std::string method_display_name(const std::string& method) { return method == "l1-norm" ? "L1-norm" : method; }

std::string sparsity_text(double sparsity) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", sparsity);
  return buffer;
}

}  // namespace whittle::report
