#include "deploy/compile.h"

#include <set>

#include "model/checkpoint.h"
#include "passes/prune/prune_transform.h"
#include "passes/quantize/quantize_transform.h"
#include "util/error.h"

namespace whittle::deploy {
namespace {

std::optional<ActivationPruning> activation_pruning_of(const passes::PruneTransformImpl& prune) {
  if (!prune.activation_settings()) return std::nullopt;
  ActivationPruning pruning;
  pruning.settings = *prune.activation_settings();
  pruning.seed = prune.activation_seed();
  for (const auto& buffer : prune.named_buffers(/*recurse=*/false)) {
    if (buffer.key() == "activation_threshold") pruning.threshold = buffer.value().item<float>();
  }
  return pruning;
}

// The quantization and activation pruning of a Linear, from its transforms,
// which must be (prune)?(quantize)?: that is the order the passes attach them in.
LinearRecord record_of(const std::string& name, const model::LinearImpl& linear) {
  LinearRecord record;
  bool quantized = false;
  for (const auto& transform : linear.transforms()) {
    if (auto quantize = std::dynamic_pointer_cast<passes::QuantizeTransformImpl>(transform)) {
      record.quantization = quantize->quantization();
      quantized = true;
    } else if (auto prune = std::dynamic_pointer_cast<passes::PruneTransformImpl>(transform)) {
      if (quantized) throw Error("cannot compile " + name + ": it is pruned after it is quantized");
      record.activation_pruning = activation_pruning_of(*prune);
    } else {
      throw Error("cannot compile " + name + ": whittle compile does not deploy '" + transform->kind() + "' transforms");
    }
  }
  return record;
}

StoredTensor stored_parameter(const torch::Tensor& effective, const std::optional<passes::FixedPointFormat>& format,
                              const std::string& name) {
  if (!format) return StoredTensor::float32(effective);
  return StoredTensor::fixed_point(fixed_point_integers(effective, *format, name), *format);
}

StoredTensor stored_embedding(const torch::Tensor& table, EmbeddingStorage storage) {
  switch (storage) {
    case EmbeddingStorage::int8: return StoredTensor::row_scaled_int8(table);
    case EmbeddingStorage::float16: return StoredTensor::float16(table);
    case EmbeddingStorage::float32: break;
  }
  return StoredTensor::float32(table);
}

// Whether some Linear's activation mask depends on its whole input. The
// simulated model then gets the last layer's [CLS] row from a computation
// over every position (either by computing them all, or by recording the
// statistics over them first); computing every position gives that row too.
bool any_input_statistic(model::BertForSequenceClassification& model) {
  for (auto& [name, linear] : model::find_linears(*model)) {
    auto prune = linear->find_transform<passes::PruneTransformImpl>();
    if (prune && prune->masks_depend_on_whole_input()) return true;
  }
  return false;
}

}  // namespace

EmbeddingStorage embedding_storage_from_bits(int64_t bits) {
  if (bits == 8) return EmbeddingStorage::int8;
  if (bits == 16) return EmbeddingStorage::float16;
  if (bits == 32) return EmbeddingStorage::float32;
  throw Error("embedding bits must be 8 (int8 rows), 16 (float16) or 32 (float32), got " + std::to_string(bits));
}

CompiledModel compile_classifier(model::BertForSequenceClassification& model, const text::TokenizerFiles& tokenizer,
                                 const CompileOptions& options, nlohmann::json source) {
  torch::NoGradGuard no_grad;
  CompiledModel compiled;
  compiled.config = model->config();
  compiled.tokenizer = tokenizer;
  compiled.cls_only_last_layer = model->cls_only_last_layer() && !any_input_statistic(model);
  compiled.source = std::move(source);

  model::TensorMap remaining = model::collect_tensors(*model);
  auto take = [&](const std::string& name) {
    auto found = remaining.find(name);
    if (found == remaining.end()) throw Error("cannot compile: the model has no tensor " + name);
    torch::Tensor tensor = found->second;
    remaining.erase(found);
    return tensor;
  };

  for (auto& [name, linear] : model::find_linears(*model)) {
    LinearRecord record = record_of(name, *linear);
    std::optional<passes::FixedPointFormat> weight_format, bias_format;
    if (record.quantization) weight_format = record.quantization->weight, bias_format = record.quantization->bias;
    compiled.tensors[name + ".weight"] = stored_parameter(linear->effective_weight(), weight_format, name + ".weight");
    compiled.tensors[name + ".bias"] = stored_parameter(linear->effective_bias(), bias_format, name + ".bias");
    take(name + ".weight");
    take(name + ".bias");
    // The masks and thresholds are in the effective weight and the record.
    remaining.erase(name + ".prune.weight_mask");
    remaining.erase(name + ".prune.activation_threshold");
    compiled.linears[name] = record;
  }
  const std::string words = "bert.embeddings.word_embeddings.weight";
  const std::string positions = "bert.embeddings.position_embeddings.weight";
  compiled.tensors[words] = stored_embedding(take(words), options.word_embeddings);
  compiled.tensors[positions] = stored_embedding(take(positions), options.position_embeddings);
  const std::string token_types = "bert.embeddings.token_type_embeddings.weight";
  compiled.tensors[token_types] = StoredTensor::float32(take(token_types));
  for (auto it = remaining.begin(); it != remaining.end();) {
    if (it->first.ends_with("LayerNorm.weight") || it->first.ends_with("LayerNorm.bias")) {
      compiled.tensors[it->first] = StoredTensor::float32(it->second);
      it = remaining.erase(it);
    } else {
      ++it;
    }
  }
  if (!remaining.empty()) throw Error("cannot compile: whittle compile does not know the tensor " + remaining.begin()->first);
  compiled.validate("the compiled model");
  return compiled;
}

}  // namespace whittle::deploy
