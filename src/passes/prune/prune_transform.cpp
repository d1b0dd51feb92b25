#include "passes/prune/prune_transform.h"

#include "passes/prune/magnitude_quantile.h"
#include "passes/prune/prune_masks.h"
#include "util/error.h"
#include "util/hash.h"

namespace whittle::passes {

PruneTransformImpl::PruneTransformImpl(torch::Tensor weight_mask, std::optional<PruneSettings> weight,
                                       std::optional<PruneSettings> activation, uint64_t activation_seed,
                                       std::optional<float> activation_threshold)
    : weight_(weight),
      activation_(activation),
      activation_seed_(activation_seed) {
  if (weight_.has_value() != weight_mask.defined()) {
    throw Error("prune transform: a weight mask goes with weight settings, and only with them");
  }
  if (weight_mask.defined()) {
    if (weight_mask.scalar_type() != torch::kBool) throw Error("prune transform: the weight mask must be bool");
    weight_mask_ = register_buffer("weight_mask", weight_mask);
  }
  bool global_l1 =
      activation_ && activation_->method == PruneMethod::l1_norm && activation_->scope == PruneScope::global;
  if (global_l1 != activation_threshold.has_value()) {
    throw Error("prune transform: global l1 activation pruning needs a calibrated threshold, and only it");
  }
  if (activation_threshold) {
    activation_threshold_ = register_buffer("activation_threshold", torch::scalar_tensor(*activation_threshold));
  }
}

nlohmann::json PruneTransformImpl::describe() const {
  nlohmann::json description = nlohmann::json::object();
  if (weight_) description["weight"] = to_json(*weight_);
  if (activation_) description["activation"] = to_json(*activation_);
  return description;
}

bool PruneTransformImpl::prunes_activations() const {
  // Random at sparsity 0 keeps everything: x * 1 is x, bit for bit.
  return activation_ && !(activation_->method == PruneMethod::random && activation_->sparsity == 0.0);
}

bool PruneTransformImpl::masks_depend_on_whole_input() const {
  if (!prunes_activations()) return false;
  return activation_->method == PruneMethod::random || activation_->scope == PruneScope::local;
}

bool PruneTransformImpl::input_statistic_is_positional() const {
  return prunes_activations() && activation_->method == PruneMethod::random;
}

void PruneTransformImpl::set_input_statistic_mode(model::InputStatisticMode mode) {
  if (mode != model::InputStatisticMode::replay) {
    recorded_threshold_.reset();
    recorded_random_mask_ = torch::Tensor();
  }
  statistic_mode_ = mode;
}

float PruneTransformImpl::activation_threshold_for(const torch::Tensor& input) {
  if (activation_->scope == PruneScope::global) return activation_threshold_.item<float>();
  switch (statistic_mode_) {
    case model::InputStatisticMode::compute:
      return magnitude_quantile(input, activation_->sparsity);
    case model::InputStatisticMode::record:
      recorded_threshold_ = magnitude_quantile(input, activation_->sparsity);
      return *recorded_threshold_;
    case model::InputStatisticMode::replay:
      if (!recorded_threshold_) throw Error("prune transform: replay of an activation threshold never recorded");
      return *recorded_threshold_;
  }
  throw Error("prune transform: unknown input statistic mode");
}

torch::Tensor PruneTransformImpl::random_activation_mask_for(const torch::Tensor& input) {
  if (statistic_mode_ != model::InputStatisticMode::replay) {
    const uint64_t draw_seed = splitmix64(activation_seed_ ^ splitmix64(activation_draws_++));
    torch::Tensor mask =
        whole_rows_ > 0 ? hashed_random_keep_mask_of_leading_rows(input.sizes(), whole_rows_, activation_->sparsity, draw_seed)
                        : hashed_random_keep_mask(input.sizes(), activation_->sparsity, draw_seed);
    if (statistic_mode_ == model::InputStatisticMode::record) recorded_random_mask_ = mask;
    return mask;
  }
  const torch::Tensor& recorded = recorded_random_mask_;
  if (!recorded.defined()) throw Error("prune transform: replay of a random activation mask never recorded");
  bool leading_rows = input.dim() == recorded.dim() && input.dim() >= 2 && input.size(1) <= recorded.size(1);
  for (int64_t d = 0; leading_rows && d < input.dim(); ++d) leading_rows = d == 1 || input.size(d) == recorded.size(d);
  if (!leading_rows) {
    throw Error("prune transform: replayed input " + c10::str(input.sizes()) +
                " is not the leading rows of the recorded " + c10::str(recorded.sizes()));
  }
  return recorded.narrow(1, 0, input.size(1));
}

void PruneTransformImpl::record_input_statistic(const torch::Tensor& input) {
  if (!prunes_activations()) return;
  if (activation_->method == PruneMethod::random) {
    random_activation_mask_for(input);
  } else {
    activation_threshold_for(input);
  }
}

torch::Tensor PruneTransformImpl::transform_input(const torch::Tensor& input) {
  if (!prunes_activations()) return input;
  if (activation_->method == PruneMethod::random) return input * random_activation_mask_for(input);
  return mask_by_magnitude(input, activation_threshold_for(input));
}

torch::Tensor PruneTransformImpl::transform_weight(const torch::Tensor& weight) {
  if (!weight_mask_.defined()) return weight;
  return weight * weight_mask_;
}

}  // namespace whittle::passes
