#include "experiments/lora_training.h"

#include <ostream>

#include "experiments/compressed_model.h"
#include "experiments/train_with_evaluation.h"
#include "passes/lora/lora_pass.h"
#include "train/data_parallel.h"

namespace whittle::experiments {

nlohmann::json train_lora_and_fuse(const LoraTrainingRequest& request, const data::TokenizedDataset& train_set,
                                   const data::TokenizedDataset& test_set, const std::filesystem::path& out_dir,
                                   const std::filesystem::path& tokenizer_dir, std::ostream& log) {
  passes::LoraConfig config = passes::parse_lora_config(request.adapter, request.origin);
  auto loaded = load_compressed(request.base_model, request.training.seed);
  if (!loaded.initialised.empty()) log << "lora: " << request.base_model.string() << " gets a new pooler/classifier\n";
  passes::LoraReport report = passes::lora_pass(loaded.model, config, request.training.seed);
  log << "lora: rank " << config.rank << ", alpha " << config.alpha << ", dropout " << config.dropout << "; "
      << report.trainable_parameters << " of " << report.total_parameters << " parameters trainable ("
      << 100.0 * report.trainable_fraction() << "%)\n";

  auto outcome = train_with_evaluation(loaded.model, train_set, test_set, request.training, request.eval, log);
  model::assign_tensors(*loaded.model, outcome.best_state, {});
  auto fused = passes::fuse_lora(loaded.model);
  nlohmann::json summary = {{"base_model", request.base_model.string()},
                            {"new_head", !loaded.initialised.empty()},
                            {"lora", passes::to_json(config)},
                            {"parameters", passes::to_json(report)},
                            {"training", to_json(request.training)},
                            {"epochs", outcome.epochs},
                            {"best_epoch", outcome.best_epoch},
                            {"accuracy", outcome.best_accuracy},
                            {"fused_layers", fused.size()}};
  // Every rank holds the same fused model: rank 0 saves it, and the others
  // wait until it is on disk, since callers read it back.
  const auto& ranks = request.training.data_parallel;
  if (!ranks || ranks->is_first()) save_compressed(out_dir, loaded.model, {{"lora_finetune", summary}}, tokenizer_dir);
  if (ranks) ranks->barrier();
  summary["model"] = out_dir.string();
  return summary;
}

}  // namespace whittle::experiments
