#include "experiments/train_with_evaluation.h"

namespace whittle::experiments {

report::Evaluation evaluation_record(const train::EvalResult& result) {
  return {result.accuracy, result.loss, result.examples, result.seconds, result.tokens_per_second};
}

nlohmann::json to_json(const train::EvalResult& result) { return evaluation_record(result); }

nlohmann::json to_json(const train::TrainOptions& options) {
  return {{"epochs", options.epochs},
          {"batch_size", options.batch_size},
          {"learning_rate", options.learning_rate},
          {"weight_decay", options.weight_decay},
          {"warmup_ratio", options.warmup_ratio},
          {"max_grad_norm", options.max_grad_norm},
          {"freeze_embeddings", options.freeze_embeddings},
          {"seed", options.seed}};
}

EvaluatedTraining train_with_evaluation(model::BertForSequenceClassification& model,
                                        const data::TokenizedDataset& train_set,
                                        const data::TokenizedDataset& test_set, const train::TrainOptions& options,
                                        const train::EvalOptions& eval_options, std::ostream& log) {
  EvaluatedTraining outcome;
  auto after_epoch = [&](const train::EpochReport& report) {
    auto result = train::evaluate(model, test_set, eval_options, log);
    outcome.epochs.push_back(
        {report.epoch, report.mean_loss, report.seconds, report.tokens_per_second, evaluation_record(result)});
    if (outcome.best_epoch == 0 || result.accuracy > outcome.best_accuracy) {
      outcome.best_accuracy = result.accuracy;
      outcome.best_epoch = report.epoch;
      outcome.best_state = model::collect_tensors(*model);
    }
  };
  train::train_classifier(model, train_set, options, after_epoch, log);
  return outcome;
}

}  // namespace whittle::experiments
