#include "model/classifier_io.h"

namespace whittle::model {

BertForSequenceClassification new_classifier(const BertConfig& config, uint64_t seed) {
  BertForSequenceClassification model(config, seed);
  initialize_bert_weights(*model, config, seed);
  return model;
}

LoadedClassifier load_classifier(const std::filesystem::path& dir, uint64_t seed, const PrepareModel& prepare) {
  Checkpoint checkpoint = load_checkpoint(dir);
  LoadedClassifier loaded;
  loaded.model = new_classifier(checkpoint.config, seed);
  loaded.whittle = checkpoint.whittle;
  if (prepare) prepare(loaded.model, checkpoint.whittle);
  LoadReport report = assign_tensors(*loaded.model, checkpoint.tensors, {"bert.pooler.", "classifier."});
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
