#include "train/mlm_evaluate.h"

#include <cmath>
#include <numeric>

#include "util/error.h"
#include "util/progress.h"

namespace whittle::train {

MlmEvalResult evaluate_masked_lm(model::BertForMaskedLM& model, const std::vector<std::vector<int32_t>>& sequences,
                                 const MaskingTokens& tokens, const MlmEvalOptions& options, std::ostream& log) {
  if (sequences.empty()) throw Error("no held-out sequences to evaluate the masked-LM on");
  if (options.batch_size < 1) throw Error("evaluation batch size must be at least 1");
  options.masking.validate();
  const bool was_training = model->is_training();
  model->eval();
  torch::InferenceMode inference;

  const auto count = static_cast<int64_t>(sequences.size());
  Progress progress("eval-mlm", (count + options.batch_size - 1) / options.batch_size, log);
  double loss_sum = 0.0;
  int64_t correct = 0;
  MlmEvalResult result;
  for (int64_t start = 0; start < count; start += options.batch_size) {
    std::vector<int64_t> indices(static_cast<size_t>(std::min(options.batch_size, count - start)));
    std::iota(indices.begin(), indices.end(), start);
    MlmBatch batch = make_mlm_batch(sequences, indices, tokens, options.masking, options.mask_seed);
    model::MaskedLmOutput output = model->forward(batch.input_ids, batch.attention_mask, batch.labels, nullptr);
    loss_sum += output.loss.item<double>() * static_cast<double>(batch.predicted);
    correct += output.logits.argmax(1).eq(output.targets).sum().item<int64_t>();
    result.predicted += batch.predicted;
    progress.advance(1, batch.real_tokens);
  }
  result.sequences = count;
  result.loss = loss_sum / static_cast<double>(std::max<int64_t>(1, result.predicted));
  result.perplexity = std::exp(result.loss);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, result.predicted));
  result.seconds = progress.elapsed_seconds();
  result.tokens_per_second = progress.tokens_per_second();
  char detail[96];
  std::snprintf(detail, sizeof detail, "accuracy %.4f perplexity %.2f", result.accuracy, result.perplexity);
  progress.finish(detail);
  if (was_training) model->train();
  return result;
}

}  // namespace whittle::train
