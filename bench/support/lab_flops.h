#pragma once
// Multiply-adds that a BERT classifier computes on the lab's batches,
// counted analytically, for lab_throughput's GFLOP/s. Only the matrix
// products are counted (Linear layers, attention scores and context); the
// embeddings, LayerNorm, GELU, softmax, quantizers and masks are not. The
// count follows what whittle's model runs, batch by batch:
//   - a Linear runs over every padded position of its input;
//   - attention takes every query row against the example's real keys only
//     (tiled_attention skips the padded keys);
//   - the last encoder layer runs as the model runs it (every position, the [CLS] row, or calibrated)
//     (see LastLayerWork below);
//   - pruned weights count as if kept: the products are dense;
//   - a training step counts 3x its forward graph (forward, gradients of the
//     activations, gradients of the weights), plus the no-gradient
//     calibration pass of an L1-pruned model once; with the embeddings frozen
//     (TrainOptions::freeze_embeddings) the first layer's query, key and value
//     get no input gradient, and that product is not counted.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "data/batching.h"
#include "data/tokenized.h"
#include "util/enum_names.h"
#include "model/bert.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace whittle::bench {

// What the last encoder layer computes in one step.
enum class LastLayerWork {
  // keys and values over every position; query, attention output, FFN and
  // the attention itself for the [CLS] row only
  cls_row,
  // the whole layer over every position
  every_position,
  // cls_row, after a pass without gradients over every position that runs
  // the query, the attention, the attention output and the FFN's first
  // Linear, and records the FFN output Linear's input without its product
  cls_row_with_calibration,
};

inline constexpr EnumName<LastLayerWork> kLastLayerWorkNames[] = {
    {LastLayerWork::cls_row, "cls_row"},
    {LastLayerWork::every_position, "every_position"},
    {LastLayerWork::cls_row_with_calibration, "cls_row_with_calibration"}};

inline std::string to_string(LastLayerWork work) { return name_of(kLastLayerWorkNames, work, "unknown"); }

// Read off the model, as BertLayerImpl::forward_as_last_layer decides it.
inline LastLayerWork last_layer_work(const model::BertForSequenceClassification& model, bool gradients) {
  if (!model->cls_only_last_layer()) return LastLayerWork::every_position;
  if (!model->last_layer_calibrates()) return LastLayerWork::cls_row;
  // Without gradients the calibrated layer simply runs over every position.
  return gradients ? LastLayerWork::cls_row_with_calibration : LastLayerWork::every_position;
}

inline std::string counting_rule() {
  return "multiply-adds of the matrix products only (Linear layers over every padded position they run on; "
         "attention scores and context of every query row against the example's real keys); the last layer as "
         "the model runs it ([CLS]-only: keys/values over all positions, query, attention output and FFN over "
         "the [CLS] row; full or L1 evaluation: every position; L1 training: [CLS] row plus a no-gradient "
         "calibration pass over every position up to the FFN output's input); pruned weights count as kept "
         "(dense products); training = 3x the forward graph (+1x the calibration pass), less the input gradients "
         "of layer 0's query/key/value when the embeddings are frozen; 1 multiply-add = 2 FLOP";
}

// One batch as make_batch pads it.
struct BatchShape {
  int64_t padded_length = 0;
  std::vector<int64_t> lengths;  // real tokens of each row
};

class MultiplyAddCounter {
 public:
  explicit MultiplyAddCounter(const model::BertConfig& config)
      : hidden_(static_cast<double>(config.hidden_size)),
        intermediate_(static_cast<double>(config.intermediate_size)),
        layers_(config.num_hidden_layers),
        labels_(static_cast<double>(config.num_labels)) {}

  // A forward pass over `batch` without gradients.
  double evaluation_step(const BatchShape& batch, LastLayerWork last) const { return forward(batch, last); }

  // A training step over `batch`.
  double training_step(const BatchShape& batch, LastLayerWork last, bool embeddings_frozen) const {
    bool calibrates = last == LastLayerWork::cls_row_with_calibration;
    double work = 3.0 * forward(batch, calibrates ? LastLayerWork::cls_row : last);
    if (calibrates) work += calibration(batch);
    // Nothing below layer 0 needs a gradient: its Q, K, V skip the input's.
    if (embeddings_frozen) work -= positions(batch) * 3.0 * hidden_ * hidden_;
    return work;
  }

 private:
  double rows(const BatchShape& batch) const { return static_cast<double>(batch.lengths.size()); }
  double positions(const BatchShape& batch) const { return rows(batch) * static_cast<double>(batch.padded_length); }

  // Scores (Q K^T) and context (P V) of `query_rows` rows per example
  // against its real keys, all heads together.
  double attention(const BatchShape& batch, int64_t query_rows) const {
    double keys = 0;
    for (int64_t length : batch.lengths) keys += static_cast<double>(length);
    return 2.0 * hidden_ * static_cast<double>(query_rows) * keys;
  }

  double full_layer(const BatchShape& batch) const {
    double linears = 4.0 * hidden_ * hidden_ + 2.0 * hidden_ * intermediate_;  // Q, K, V, O; FFN in and out
    return positions(batch) * linears + attention(batch, batch.padded_length);
  }

  double cls_layer(const BatchShape& batch) const {
    double keys_values = positions(batch) * 2.0 * hidden_ * hidden_;
    double cls_linears = rows(batch) * (2.0 * hidden_ * hidden_ + 2.0 * hidden_ * intermediate_);
    return keys_values + cls_linears + attention(batch, 1);
  }

  double calibration(const BatchShape& batch) const {
    double linears = 2.0 * hidden_ * hidden_ + hidden_ * intermediate_;  // Q, O, FFN in
    return positions(batch) * linears + attention(batch, batch.padded_length);
  }

  double forward(const BatchShape& batch, LastLayerWork last) const {
    double encoder = static_cast<double>(layers_ - 1) * full_layer(batch) +
                     (last == LastLayerWork::every_position ? full_layer(batch) : cls_layer(batch));
    double head = rows(batch) * (hidden_ * hidden_ + hidden_ * labels_);  // pooler, classifier
    return encoder + head;
  }

  double hidden_, intermediate_;
  int64_t layers_;
  double labels_;
};

// The batches of `plan` as make_batch pads them.
inline std::vector<BatchShape> batch_shapes(const data::TokenizedDataset& dataset,
                                            const std::vector<std::vector<int64_t>>& plan,
                                            const model::BertConfig& config, int64_t length_multiple) {
  std::vector<BatchShape> shapes;
  for (const auto& indices : plan) {
    data::Batch batch = data::make_batch(dataset, indices, static_cast<int32_t>(config.pad_token_id), length_multiple,
                                         config.max_position_embeddings);
    BatchShape shape{batch.input_ids.size(1), {}};
    torch::Tensor lengths = batch.attention_mask.sum(1).to(torch::kInt64).contiguous();
    shape.lengths.assign(lengths.data_ptr<int64_t>(), lengths.data_ptr<int64_t>() + lengths.numel());
    shapes.push_back(std::move(shape));
  }
  return shapes;
}

// Multiply-adds of one epoch of train_classifier with `options`.
inline double training_multiply_adds(const data::TokenizedDataset& dataset, const std::vector<std::vector<int64_t>>& plan,
                                     const model::BertConfig& config, const train::TrainOptions& options,
                                     LastLayerWork last) {
  MultiplyAddCounter counter(config);
  double total = 0;
  for (const auto& shape : batch_shapes(dataset, plan, config, options.length_multiple)) {
    total += counter.training_step(shape, last, options.freeze_embeddings);
  }
  return total;
}

// Multiply-adds of train::evaluate with `options`.
inline double evaluation_multiply_adds(const data::TokenizedDataset& dataset,
                                       const std::vector<std::vector<int64_t>>& plan, const model::BertConfig& config,
                                       const train::EvalOptions& options, LastLayerWork last) {
  MultiplyAddCounter counter(config);
  double total = 0;
  for (const auto& shape : batch_shapes(dataset, plan, config, options.length_multiple)) {
    total += counter.evaluation_step(shape, last);
  }
  return total;
}

// The batches of one epoch of train_classifier (train/trainer.cpp builds the
// same BatchOptions).
inline std::vector<std::vector<int64_t>> training_plan(const data::TokenizedDataset& dataset,
                                                       const train::TrainOptions& options, int64_t epoch) {
  data::BatchOptions batching;
  batching.batch_size = options.batch_size;
  batching.shuffle = true;
  batching.seed = options.seed;
  batching.length_multiple = options.length_multiple;
  return data::plan_batches(dataset, batching, epoch);
}

// The batches of train::evaluate (train/evaluate.cpp builds the same BatchOptions).
inline std::vector<std::vector<int64_t>> evaluation_plan(const data::TokenizedDataset& dataset,
                                                         const train::EvalOptions& options) {
  data::BatchOptions batching;
  batching.batch_size = options.batch_size;
  batching.length_multiple = options.length_multiple;
  return data::plan_batches(dataset, batching, 0);
}

}  // namespace whittle::bench
