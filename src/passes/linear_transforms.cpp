#include "passes/linear_transforms.h"

namespace whittle::passes {

int64_t detach_transforms(torch::nn::Module& root, const std::string& kind) {
  int64_t removed = 0;
  for (auto& [name, linear] : model::find_linears(root)) {
    removed += static_cast<int64_t>(linear->detach(kind).size());
  }
  return removed;
}

}  // namespace whittle::passes
