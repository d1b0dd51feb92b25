#include "experiments/compressed_model.h"

#include "passes/recorded_passes.h"

namespace whittle::experiments {

model::LoadedClassifier load_compressed(const std::filesystem::path& dir, uint64_t seed) {
  std::string origin = (dir / model::Checkpoint::whittle_file).string();
  return model::load_classifier(dir, seed, [&](model::BertForSequenceClassification& model, const nlohmann::json& whittle) {
    passes::apply_recorded_passes(model, whittle, origin);
  });
}

void save_compressed(const std::filesystem::path& dir, model::BertForSequenceClassification& model,
                     nlohmann::json notes, const std::filesystem::path& tokenizer_dir) {
  if (!notes.is_object()) notes = nlohmann::json::object();
  notes.update(passes::record_passes(model));
  model::save_checkpoint(dir, model::classifier_checkpoint(model, notes), tokenizer_dir);
}

}  // namespace whittle::experiments
