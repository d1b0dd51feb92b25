#pragma once
#include <cstdint>
#include <string>

#include "model/fused_ops.h"
#include "model/linear.h"

namespace whittle::passes {

// A low-rank adapter on a Linear: y = x W^T + b + (alpha / rank) * dropout(x) A^T B^T,
// with A [rank, in] (kaiming-uniform, a = sqrt(5), as nn.Linear) and B
// [out, rank] starting at zero, so a fresh adapter changes nothing. Its
// parameters are named "lora_A" and "lora_B" under the layer's "lora"
// submodule ("bert.encoder.layer.0.attention.self.query.lora.lora_A").
//
// Dropout applies in training mode only; its masks come from the adapter's
// own seed stream, so a run is reproducible whatever else draws random numbers.
class LoraTransformImpl : public model::LinearTransformImpl {
 public:
  static constexpr const char* kKind = "lora";

  // `init_seed` draws A; `dropout_seed` starts the stream of dropout masks.
  LoraTransformImpl(int64_t in_features, int64_t out_features, int64_t rank, double alpha, double dropout,
                    uint64_t init_seed, uint64_t dropout_seed);

  std::string kind() const override { return kKind; }
  // Mase's pass keys: {"rank": r, "lora_alpha": a, "lora_dropout": p}.
  nlohmann::json describe() const override;
  torch::Tensor transform_output(const torch::Tensor& input, const torch::Tensor& output) override;

  // (alpha / rank) B A, the [out, in] change the adapter makes to the weight.
  torch::Tensor delta_weight() const;

  int64_t rank() const { return rank_; }
  double alpha() const { return alpha_; }
  double dropout() const { return dropout_; }
  double scaling() const { return alpha_ / static_cast<double>(rank_); }

  torch::Tensor lora_A;  // [rank, in]
  torch::Tensor lora_B;  // [out, rank]

 private:
  int64_t rank_;
  double alpha_;
  double dropout_;
  model::SeedSequence dropout_seeds_;
};
TORCH_MODULE(LoraTransform);

}  // namespace whittle::passes
