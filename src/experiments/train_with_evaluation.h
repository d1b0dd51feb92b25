#pragma once
#include <iosfwd>

#include <nlohmann/json.hpp>

#include <vector>

#include "model/checkpoint.h"
#include "report/sweep_records.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace whittle::experiments {

struct EvaluatedTraining {
  std::vector<report::EpochRecord> epochs;  // per epoch: train loss, test accuracy/loss, timings
  double best_accuracy = 0.0;
  int64_t best_epoch = 0;
  model::TensorMap best_state;  // the model's tensors after its best epoch
};

// Fine-tunes, evaluating on `test_set` after every epoch, and keeps the
// state of the best epoch (the lab reports the highest accuracy reached).
EvaluatedTraining train_with_evaluation(model::BertForSequenceClassification& model,
                                        const data::TokenizedDataset& train_set,
                                        const data::TokenizedDataset& test_set, const train::TrainOptions& options,
                                        const train::EvalOptions& eval_options, std::ostream& log);

report::Evaluation evaluation_record(const train::EvalResult& result);
nlohmann::json to_json(const train::EvalResult& result);
nlohmann::json to_json(const train::TrainOptions& options);

}  // namespace whittle::experiments
