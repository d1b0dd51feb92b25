#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace whittle::model {

// How a transform gets a statistic that it derives from its whole input (see
// LinearTransformImpl::has_input_statistic):
//   compute  from each input it is given: the normal mode;
//   record   from each input, keeping the last one;
//   replay   from nothing: it reuses the recorded one. The input is then the
//            leading rows, along dimension 1, of the recorded input (a
//            [B, 1, H] [CLS] row of a recorded [B, L, H]), or all of it.
// A model that computes only some rows of a layer runs the layer over every
// row in record mode first, then over the rows it needs in replay mode: each
// row then comes out as the computation over every row would give it.
enum class InputStatisticMode { compute, record, replay };

// What a pass attaches to a Linear layer to change how it computes, in the
// spirit of Mase's module replacement: quantization rewrites the input, weight
// and bias; pruning masks them; LoRA adds a low-rank term to the output.
// Transforms are modules, so whatever state they hold (masks, adapters) is
// registered under the layer and travels with checkpoints.
class LinearTransformImpl : public torch::nn::Module {
 public:
  virtual std::string kind() const = 0;
  virtual nlohmann::json describe() const = 0;
  virtual torch::Tensor transform_input(const torch::Tensor& input) { return input; }
  virtual torch::Tensor transform_weight(const torch::Tensor& weight) { return weight; }
  virtual torch::Tensor transform_bias(const torch::Tensor& bias) { return bias; }
  // `input` is the layer input after transform_input.
  virtual torch::Tensor transform_output(const torch::Tensor& input, const torch::Tensor& output) { return output; }

  // Whether transform_input derives something from its input as a whole (a
  // quantile of it, or as many random draws as it has elements), so that a
  // row's result depends on the other rows or on how many there are. Such a
  // transform implements the modes of set_input_statistic_mode.
  virtual bool has_input_statistic() const { return false; }
  // Switching mode drops what was recorded, except into replay.
  virtual void set_input_statistic_mode(InputStatisticMode /*mode*/) {}
  // In record mode, records the statistic of an input whose transformed
  // value nobody will read; a transform may skip the rest of its work.
  virtual void record_input_statistic(const torch::Tensor& input) { transform_input(input); }
  // Whether the statistic depends on the input's shape alone, not on its
  // values (one random draw per element, indexed by position): told how many
  // rows the whole input has (set_whole_rows), such a transform gives the
  // leading rows exactly their part of it, with no record pass.
  virtual bool input_statistic_is_positional() const { return false; }
  // The inputs that follow are the leading rows, along dimension 1, of
  // inputs with `rows` rows; 0: they are whole inputs again.
  virtual void set_whole_rows(int64_t /*rows*/) {}
};

// y = x W^T + b with Hugging Face's parameter names (weight [out, in], bias).
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& input);

  // Appends a transform; it runs after those already attached.
  void attach(const std::shared_ptr<LinearTransformImpl>& transform);
  // Removes every transform of this kind and returns them.
  std::vector<std::shared_ptr<LinearTransformImpl>> detach(const std::string& kind);
  const std::vector<std::shared_ptr<LinearTransformImpl>>& transforms() const { return transforms_; }
  template <typename T>
  std::shared_ptr<T> find_transform() const {
    for (const auto& transform : transforms_) {
      if (auto typed = std::dynamic_pointer_cast<T>(transform)) return typed;
    }
    return nullptr;
  }
  // Whether any transform derives a statistic from its whole input, and the
  // mode of all of them (see InputStatisticMode).
  bool has_input_statistic() const;
  void set_input_statistic_mode(InputStatisticMode mode);
  // The input side of the transforms alone, up to the last one with an input
  // statistic, and no product: for a record pass that needs the statistics of
  // this layer's input but not its output.
  void record_input_statistics(const torch::Tensor& input);
  // Whether a transform's statistic depends on the values of the other rows,
  // so that computing some rows alone needs a record pass over all of them.
  bool input_statistic_needs_every_row() const;
  // See LinearTransformImpl::set_whole_rows.
  void set_whole_rows(int64_t rows);

  // The weight and bias as the forward pass uses them (after transforms).
  torch::Tensor effective_weight();
  torch::Tensor effective_bias();

  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  torch::Tensor weight;
  torch::Tensor bias;

 private:
  std::vector<std::shared_ptr<LinearTransformImpl>> transforms_;
};
TORCH_MODULE(Linear);

// Every Linear in `root`, by its full parameter-path name ("bert.pooler.dense").
std::vector<std::pair<std::string, Linear>> find_linears(torch::nn::Module& root);

}  // namespace whittle::model
