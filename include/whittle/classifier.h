#pragma once
// whittle as a library: classify texts with a model that whittle trained or
// compressed. The header needs nothing but the C++ standard library; LibTorch
// stays inside libwhittle.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "whittle/error.h"

namespace whittle {

// What the classifier found for one text.
struct Prediction {
  int64_t label = 0;                 // the class with the highest probability
  std::vector<float> probabilities;  // one per class, summing to 1 (softmax of the logits)
  std::vector<float> logits;
};

struct ClassifierOptions {
  // Tokens per text, [CLS] and [SEP] included; longer texts are truncated.
  // 0: the model's max_position_embeddings (512 for BERT-Tiny), its limit.
  int64_t max_length = 0;
  // Texts per forward pass. Results do not depend on it, except for models
  // with activation pruning, whose masks come from each batch's inputs (as
  // in training and in `whittle eval`).
  int64_t batch_size = 32;
  // The tokenizer directory (vocab.txt); empty: the one saved with the model.
  std::filesystem::path tokenizer_dir;
  // Seeds what a checkpoint's recorded passes draw (random pruning masks), as
  // `whittle eval --seed` does.
  uint64_t seed = 0;
};

class Classifier {
 public:
  // Opens either
  // - a checkpoint directory (config.json, model.safetensors, vocab.txt): a
  //   model from `whittle finetune`, `lora`, `quantize` or `prune`, whose
  //   recorded passes are applied again, so quantization and pruning are
  //   simulated exactly as in training and `whittle eval`; or
  // - a model file from `whittle compile`, run by the integer engine as
  //   `whittle run` runs it.
  // Throws whittle::Error naming the file or option that is wrong.
  static Classifier open(const std::filesystem::path& path, const ClassifierOptions& options = {});

  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;
  ~Classifier();

  // One prediction per text, in order. Thread-compatible: one call at a time
  // per Classifier. LibTorch's intra-op threads are the process's (see
  // set_threads).
  std::vector<Prediction> classify(const std::vector<std::string>& texts);

  // The token ids the model sees for `text` ([CLS] ... [SEP], truncated).
  std::vector<int32_t> tokenize(const std::string& text) const;

  int64_t num_labels() const;
  // "simulated" (a checkpoint in float with its passes) or "integer" (a
  // compiled model file).
  const std::string& engine() const;

 private:
  struct State;
  explicit Classifier(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Sets up the process as the command line does: LibTorch's intra-op threads
// (Debian's LibTorch starts with one; 0 means one per core) and glibc malloc
// thresholds that keep the large activation buffers of each batch reused.
// Process-wide; call it once, before classifying. Throws whittle::Error when
// `threads` is negative.
void set_threads(int threads);

}  // namespace whittle
