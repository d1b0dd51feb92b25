#pragma once
// Re-initialising the top of a pretrained encoder before fine-tuning
// (Zhang et al. 2021, "Revisiting Few-sample BERT Fine-tuning"). whittle's
// masked-LM pretraining leaves the last layer's [CLS] query attending to a
// few positions; fresh query/key weights restore the near-uniform attention,
// a ready-made average over the review, that a classifier builds on
// (docs/results/pretrain.md).
#include <cstdint>
#include <string>
#include <vector>

#include "model/bert.h"

namespace whittle::model {

enum class ReinitScope {
  query_key,  // the self-attention query and key of each chosen layer
  layer,      // every weight of each chosen layer
};

struct ReinitRequest {
  int64_t top_layers = 0;  // how many encoder layers, counted from the last
  ReinitScope scope = ReinitScope::query_key;
  uint64_t seed = 0;
};

// Draws the chosen weights again with BERT's initialisation and returns the
// names of the parameters it replaced, in Hugging Face naming.
std::vector<std::string> reinitialize_top_layers(BertForSequenceClassification& model, const ReinitRequest& request);

}  // namespace whittle::model
