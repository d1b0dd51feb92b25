#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "deploy/compiled_model.h"
#include "deploy/integer_linear.h"
#include "passes/prune/prune_transform.h"

namespace whittle::deploy {

// One Linear of a compiled model at run time. The input goes through what
// the simulated model does to it, in the same order: activation pruning
// (the prune pass's own transform, rebuilt from the record, so masks and
// random draws are the same), then the fixed-point quantizer. Then:
//   int8, int16  IntegerLinear, whenever its int32 sums are exact: input and
//                weight of at most 8 bits, or of at most 16 bits with weights
//                small enough (IntegerLinear::precision_for)
//   float        wider formats, int16 layers whose sums could overflow int32,
//                and unquantized layers: torch::linear on the dequantized
//                weight, which is the simulated model's computation itself.
class DeployedLinear {
 public:
  DeployedLinear(const LinearRecord& record, const StoredTensor& weight, const StoredTensor& bias, KernelIsa isa);

  torch::Tensor forward(const torch::Tensor& input);
  // Each layer's forward(input). Integer layers without activation pruning
  // that quantize the input alike get it quantized once for all of them.
  static std::vector<torch::Tensor> forward_shared(const std::vector<DeployedLinear*>& layers,
                                                   const torch::Tensor& input);
  // Folds a constant factor that every output is multiplied by next into the
  // integer kernel, where that is exact: a power of two on the integer path.
  // Returns whether it did (the caller then skips its multiply).
  bool fold_output_factor(double factor);
  // The activation pruning alone (the input itself when there is none).
  torch::Tensor prune_input(const torch::Tensor& input);
  // The integer kernel, or nullptr on the float path.
  const IntegerLinear* integer() const { return integer_ ? &*integer_ : nullptr; }
  bool prunes_input() const { return activation_pruning_ != nullptr; }
  // "int8 (avx512-vnni)", "int16 (scalar)", "float (24-bit input, 24-bit weight)" or "float".
  std::string engine() const;

 private:
  std::shared_ptr<passes::PruneTransformImpl> activation_pruning_;
  std::optional<passes::FixedPointFormat> input_format_;  // float path of a quantized layer
  int64_t weight_width_ = 0;
  std::optional<IntegerLinear> integer_;
  torch::Tensor weight_;  // float path
  torch::Tensor bias_;
};

}  // namespace whittle::deploy
