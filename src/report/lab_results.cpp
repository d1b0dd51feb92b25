#include "report/lab_results.h"

namespace whittle::report {

std::string method_display_name(const std::string& method) { return method == "l1-norm" ? "L1-norm" : method; }

}  // namespace whittle::report
