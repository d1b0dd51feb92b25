#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "model/linear.h"
#include "passes/prune/prune_config.h"

namespace whittle::passes {

// Prunes a Linear as Mase's prune_transform_pass does with a weight
// parametrization and an input pre-forward hook:
//   weight  multiplied by a fixed keep-mask, the buffer "weight_mask" (bool),
//           computed once by the pass. Pruned entries get zero gradient, and
//           the effective weight is exactly zero there, whatever the
//           optimizer does to the raw weight.
//   input   multiplied by a keep-mask recomputed from each input: by a fresh
//           random draw, by the quantile of its own magnitudes (local l1), or
//           by the fixed calibrated threshold, the buffer
//           "activation_threshold" (global l1).
// A mask computed from the whole input (random, local l1) is an input
// statistic in the model's sense (model::InputStatisticMode): recorded over
// the whole input, the l1 threshold or the random mask is replayed for its
// leading rows, so that BERT's [CLS]-only last layer masks the [CLS] row
// exactly as the full computation does. A random mask is positional: element
// i of the whole input is kept by a hash of (seed, i), so once told the whole
// input's rows (set_whole_rows) the transform draws the leading rows' part of
// that very mask, with no record pass. (A mask drawn for the [CLS] row as a
// tensor of its own would be distributed alike but differ from the full
// computation's, so even evaluation, where Mase draws masks too, would change.)
// It must run before quantization, so that the quantizer sees the masked
// weight and input as in Mase (prune_pass puts it first).
class PruneTransformImpl : public model::LinearTransformImpl {
 public:
  static constexpr const char* kKind = "prune";

  // `weight_mask`: bool keep-mask of the weight's shape, or undefined when
  // weights are not pruned. `activation_seed` seeds the random activation
  // masks: draw n uses hashed_random_keep_mask with a seed mixed from it and
  // n. `activation_threshold` is needed for global l1 activation pruning.
  PruneTransformImpl(torch::Tensor weight_mask, std::optional<PruneSettings> weight,
                     std::optional<PruneSettings> activation, uint64_t activation_seed,
                     std::optional<float> activation_threshold = std::nullopt);

  std::string kind() const override { return kKind; }
  // {"weight": {...Mase's keys...}, "activation": {...}}, sections as configured.
  nlohmann::json describe() const override;
  torch::Tensor transform_input(const torch::Tensor& input) override;
  torch::Tensor transform_weight(const torch::Tensor& weight) override;
  bool has_input_statistic() const override { return masks_depend_on_whole_input(); }
  void set_input_statistic_mode(model::InputStatisticMode mode) override;
  void record_input_statistic(const torch::Tensor& input) override;  // no masking
  bool input_statistic_is_positional() const override;
  void set_whole_rows(int64_t rows) override { whole_rows_ = rows; }

  const std::optional<PruneSettings>& weight_settings() const { return weight_; }
  const std::optional<PruneSettings>& activation_settings() const { return activation_; }
  const torch::Tensor& weight_mask() const { return weight_mask_; }  // undefined without weight pruning
  uint64_t activation_seed() const { return activation_seed_; }
  // Whether the input mask of a row depends on the other rows (or on how
  // many there are): such a layer must see every position of its input.
  bool masks_depend_on_whole_input() const;

 private:
  bool prunes_activations() const;
  float activation_threshold_for(const torch::Tensor& input);
  torch::Tensor random_activation_mask_for(const torch::Tensor& input);

  std::optional<PruneSettings> weight_;
  std::optional<PruneSettings> activation_;
  uint64_t activation_seed_;
  torch::Tensor weight_mask_;
  torch::Tensor activation_threshold_;  // 0-dim float32, global l1 only
  uint64_t activation_draws_ = 0;  // random activation masks drawn so far
  int64_t whole_rows_ = 0;         // inputs are the leading rows of this many; 0: whole
  model::InputStatisticMode statistic_mode_ = model::InputStatisticMode::compute;
  std::optional<float> recorded_threshold_;  // local l1
  torch::Tensor recorded_random_mask_;       // random
};
TORCH_MODULE(PruneTransform);

}  // namespace whittle::passes
