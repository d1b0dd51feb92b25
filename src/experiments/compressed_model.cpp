#include "experiments/compressed_model.h"

#include <cstdio>

#include "data/digest.h"
#include "passes/recorded_passes.h"
#include "util/atomic_file.h"

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

std::string model_content_digest(const std::filesystem::path& dir) {
  data::Digest64 digest;
  digest.add(read_file(dir / model::Checkpoint::config_file));
  digest.add(read_file(dir / model::Checkpoint::weights_file));
  const std::filesystem::path whittle_json = dir / model::Checkpoint::whittle_file;
  if (std::filesystem::exists(whittle_json)) {
    nlohmann::json passes = passes::recorded_passes_of(nlohmann::json::parse(read_file(whittle_json)));
    digest.add(passes.dump());
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest.value()));
  return hex;
}

}  // namespace whittle::experiments
