#pragma once
#include <filesystem>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "data/tokenized.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace whittle::experiments {

struct LoraTrainingRequest {
  std::filesystem::path base_model;  // a classifier, or a pretrained encoder (fresh pooler and classifier)
  nlohmann::json adapter;            // the LoRA pass's keys (rank, alpha, dropout, target_modules)
  std::string origin;                // names `adapter` in errors
  train::TrainOptions training;
  train::EvalOptions eval;
};

// The lab's starting point: LoRA adapters in the Linears, trained with the
// classifier (evaluated after each epoch; the best epoch is kept), then fused
// into the weights. Saves the fused, plain classifier to `out_dir` and
// returns what happened: parameter counts, accuracy per epoch, the best.
nlohmann::json train_lora_and_fuse(const LoraTrainingRequest& request, const data::TokenizedDataset& train_set,
                                   const data::TokenizedDataset& test_set, const std::filesystem::path& out_dir,
                                   const std::filesystem::path& tokenizer_dir, std::ostream& log);

}  // namespace whittle::experiments
