#pragma once
#include <cstdint>

#include <nlohmann/json.hpp>

#include "deploy/compiled_model.h"
#include "model/bert.h"
#include "text/tokenizer_files.h"

namespace whittle::deploy {

// How an embedding table is stored. The word embeddings are most of
// BERT-Tiny's parameters (3.9M of 4.4M), so a file much smaller than the
// float32 checkpoint needs them in 8 bits. Whatever the storage, the
// embeddings compute in float32 at run time.
//   8   int8 with one float32 scale per row (about 4x smaller than float32,
//       not exact: the embeddings move by up to half a step of their row)
//   16  float16 (2x smaller; rounds to float16)
//   32  float32 (exact)
enum class EmbeddingStorage { int8 = 8, float16 = 16, float32 = 32 };

// Throws whittle::Error for anything but 8, 16 and 32.
EmbeddingStorage embedding_storage_from_bits(int64_t bits);

// The defaults: int8 word embeddings (3.9 MB instead of 15.6 MB) and exact
// position embeddings, which every review uses at every position (0.26 MB).
// On the full IMDb test split the 8-bit QAT model then agrees with its
// simulation on 24,984 of 25,000 reviews (all of them with float32 word
// embeddings, which give the simulated logits bit for bit).
struct CompileOptions {
  EmbeddingStorage word_embeddings = EmbeddingStorage::int8;
  EmbeddingStorage position_embeddings = EmbeddingStorage::float32;
};

// Turns a classifier with its passes attached (as experiments::load_compressed
// returns it) into a compiled model. Each Linear keeps its quantization:
// its weight and bias become the fixed-point integers the simulated model
// computes with (after pruning masks, so pruned weights are exact zeros),
// and its input format and activation pruning are recorded for run time.
// Unquantized Linears keep their (masked) float32 weights. Throws
// whittle::Error for a transform it cannot deploy (anything but quantize
// and prune, or prune after quantize).
CompiledModel compile_classifier(model::BertForSequenceClassification& model, const text::TokenizerFiles& tokenizer,
                                 const CompileOptions& options, nlohmann::json source = nlohmann::json::object());

}  // namespace whittle::deploy
