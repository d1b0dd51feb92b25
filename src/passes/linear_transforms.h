#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/linear.h"

namespace whittle::passes {

// What undoing and baking a pass share, whichever transform it attached.

// Detaches every transform of `kind` from the Linears in `root`; returns how
// many there were.
int64_t detach_transforms(torch::nn::Module& root, const std::string& kind);

// For each Linear in `root` holding a transform of type Transform: folds it
// into the Linear's parameters with fold(linear, transform) (no gradients
// are recorded), then detaches it, so that the plain Linear computes what the
// transformed one did. Returns the names of the Linears it folded.
template <typename Transform, typename Fold>
std::vector<std::string> bake_transforms(torch::nn::Module& root, Fold fold) {
  std::vector<std::string> baked;
  torch::NoGradGuard no_grad;
  for (auto& [name, linear] : model::find_linears(root)) {
    auto transform = linear->template find_transform<Transform>();
    if (!transform) continue;
    fold(*linear, *transform);
    linear->detach(Transform::kKind);
    baked.push_back(name);
  }
  return baked;
}

}  // namespace whittle::passes
