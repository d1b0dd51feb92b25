#include "model/classifier_io.h"

#include <string>
#include <vector>

#include "util/error.h"

namespace whittle::model {

BertForSequenceClassification new_classifier(const BertConfig& config, uint64_t seed) {
  BertForSequenceClassification model(config, seed);
  initialize_bert_weights(*model, config, seed);
  return model;
}

namespace {

// The heads a pretraining checkpoint carries beside the encoder (masked-LM,
// next-sentence): a classifier fine-tuned from it has no use for them.
bool is_pretraining_head(const std::string& name) { return name.starts_with("cls."); }

// Tensors the config has no place for mean that config.json and the weights
// disagree (fewer layers, another model): evaluating would quietly run a
// different model from the one saved.
void refuse_unplaced_tensors(const std::vector<std::string>& unexpected, const std::filesystem::path& dir) {
  std::vector<std::string> unplaced;
  for (const std::string& name : unexpected) {
    if (!is_pretraining_head(name)) unplaced.push_back(name);
  }
  if (unplaced.empty()) return;
  throw Error("checkpoint " + dir.string() + " holds " + std::to_string(unplaced.size()) + " tensor" +
              (unplaced.size() == 1 ? "" : "s") + " that the model its config.json describes has no place for (" +
              unplaced.front() + (unplaced.size() > 1 ? ", ..." : "") + "): config.json does not match the weights");
}

// NaN or infinite weights give nonsense logits (or a null loss) without a word.
void refuse_non_finite(const TensorMap& tensors, const std::filesystem::path& dir) {
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.is_floating_point()) continue;
    if (!torch::isfinite(tensor).all().item<bool>()) {
      throw Error("checkpoint " + dir.string() + ": tensor " + name + " holds NaN or infinite values");
    }
  }
}

// The config's sizes against the weights' own, before the model is built:
// a config that declares millions of vocabulary rows the checkpoint lacks
// would take gigabytes and seconds before a shape mismatch is reported.
void check_config_against_weights(const BertConfig& config, const TensorMap& tensors, const std::filesystem::path& dir) {
  const std::pair<const char*, std::vector<int64_t>> expected[] = {
      {"bert.embeddings.word_embeddings.weight", {config.vocab_size, config.hidden_size}},
      {"bert.embeddings.position_embeddings.weight", {config.max_position_embeddings, config.hidden_size}},
      {"bert.embeddings.token_type_embeddings.weight", {config.type_vocab_size, config.hidden_size}},
      {"bert.encoder.layer.0.intermediate.dense.weight", {config.intermediate_size, config.hidden_size}},
  };
  for (const auto& [name, shape] : expected) {
    auto found = tensors.find(name);
    if (found == tensors.end() || found->second.sizes() == at::IntArrayRef(shape)) continue;
    throw Error("checkpoint " + dir.string() + ": tensor " + name + " has shape " +
                c10::str(found->second.sizes()) + " but config.json declares " + c10::str(at::IntArrayRef(shape)));
  }
}

}  // namespace

LoadedClassifier load_classifier(const std::filesystem::path& dir, uint64_t seed, const PrepareModel& prepare) {
  Checkpoint checkpoint = load_checkpoint(dir);
  refuse_non_finite(checkpoint.tensors, dir);
  check_config_against_weights(checkpoint.config, checkpoint.tensors, dir);
  LoadedClassifier loaded;
  loaded.model = new_classifier(checkpoint.config, seed);
  loaded.whittle = checkpoint.whittle;
  if (prepare) prepare(loaded.model, checkpoint.whittle);
  LoadReport report = assign_tensors(*loaded.model, checkpoint.tensors, {"bert.pooler.", "classifier."});
  refuse_unplaced_tensors(report.unexpected, dir);
  loaded.initialised = report.missing;
  return loaded;
}

Checkpoint classifier_checkpoint(BertForSequenceClassification& model, const nlohmann::json& whittle_state) {
  Checkpoint checkpoint;
  checkpoint.config = model->config();
  checkpoint.tensors = collect_tensors(*model);
  checkpoint.whittle = whittle_state;
  return checkpoint;
}

}  // namespace whittle::model
