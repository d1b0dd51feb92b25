#include "experiments/mixed/mixed_finish.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <ostream>

#include "experiments/compressed_model.h"
#include "experiments/mixed/validation_split.h"
#include "experiments/point_runner.h"
#include "experiments/train_with_evaluation.h"
#include "model/checkpoint.h"
#include "passes/quantize/quantize_pass.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/hash.h"

namespace whittle::experiments {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kNotesKey = "mixed_precision";

// What a saved model of the search records about itself, and how a resumed
// search recognises it.
json model_notes(const SearchState& state, const MeasuredConfig& chosen, const std::string& stage) {
  return {{kNotesKey,
           {{"formats_digest", formats_digest(chosen.formats)},
            {"stage", stage},
            {"average_bits", chosen.bits.average()},
            {"budget_points", state.options.budget_points},
            {"validation", describe(state.split)}}}};
}

bool saved_with(const fs::path& dir, const json& notes, const std::string& field) {
  const fs::path file = dir / model::Checkpoint::whittle_file;
  if (!fs::exists(file) || !fs::exists(dir / model::Checkpoint::weights_file)) return false;
  json saved = json::parse(read_file(file), nullptr, false);
  if (!saved.is_object() || !saved.contains(kNotesKey)) return false;
  return saved[kNotesKey].value(field, json()) == notes[kNotesKey].value(field, json());
}

model::BertForSequenceClassification quantized_base(const SearchState& state, const MixedFormats& formats) {
  auto loaded = load_compressed(state.options.base_model, state.options.qat.seed);
  passes::quantize_pass(loaded.model, by_name_config(state.pool.linears(), formats));
  return loaded.model;
}

std::string qat_key(const SearchState& state, const MeasuredConfig& chosen) {
  Fnv1a64 digest;
  digest.add(to_json(state.options.qat).dump());
  digest.add(std::to_string(state.options.qat_train_limit));
  return "qat/" + formats_digest(chosen.formats) + "/" + digest.hex();
}

data::TokenizedDataset qat_training_set(const SearchState& state) {
  const data::TokenizedDataset& remainder = state.split.remainder;
  if (state.options.qat_train_limit <= 0 || state.options.qat_train_limit >= remainder.size()) return remainder;
  return split_validation(remainder, state.options.qat_train_limit, state.options.validation_seed + 3).validation;
}

json train_qat(const SearchState& state, const MeasuredConfig& chosen, const fs::path& dir, json notes) {
  auto model = quantized_base(state, chosen.formats);
  const data::TokenizedDataset training = qat_training_set(state);
  state.log << "qat: " << training.size() << " training reviews (the train split without the validation set)\n";
  auto outcome = train_with_evaluation(model, training, state.split.validation, state.options.qat, state.options.eval,
                                       state.log);
  model::assign_tensors(*model, outcome.best_state, {});
  save_compressed(dir, model, notes, state.options.tokenizer_dir);
  json epochs = json::array();
  for (const auto& epoch : outcome.epochs) {
    epochs.push_back({{"epoch", epoch.epoch}, {"train_loss", epoch.train_loss}, {"train_seconds", epoch.train_seconds},
                      {"validation", epoch.test}});
  }
  return {{"validation_accuracy", outcome.best_accuracy}, {"best_epoch", outcome.best_epoch},
          {"training_reviews", training.size()}, {"options", to_json(state.options.qat)}, {"epochs", epochs}};
}

// The validation loss after the epoch the QAT record names as its best.
double best_epoch_validation_loss(const json& qat_record) {
  const int64_t best = qat_record.at("best_epoch").get<int64_t>();
  for (const json& epoch : qat_record.at("epochs")) {
    if (epoch.at("epoch").get<int64_t>() == best) return epoch.at("validation").at("loss").get<double>();
  }
  throw Error("the stored QAT record has no epoch " + std::to_string(best));
}

json evaluation_with_bits(const train::EvalResult& result, const LinearBits& bits) {
  json record = to_json(result);
  record["linear_bits"] = bits.bits;
  record["average_bits"] = bits.average();
  return record;
}

}  // namespace

bool qat_improves(const MeasuredConfig& ptq, double qat_accuracy, double qat_loss, int64_t validation_size) {
  // The search's configuration already meets the budget, and the validation
  // reviews come from the train split the base model was fine-tuned on, so a
  // further epoch that fits the train split better can look better there
  // while it does worse on unseen reviews. A gain within sampling noise (two
  // standard errors of the PTQ accuracy) is not taken as one.
  const double p = ptq.accuracy;
  const double noise = 2.0 * std::sqrt(p * (1.0 - p) / static_cast<double>(std::max<int64_t>(validation_size, 1)));
  return qat_accuracy > ptq.accuracy + noise && qat_loss < ptq.loss;
}

FinishedModels finish_models(const SearchState& state, const MeasuredConfig& chosen) {
  FinishedModels finished;
  finished.chosen = chosen;
  finished.ptq_model = state.options.out_dir / "models" / "mixed-ptq";
  finished.final_model = finished.ptq_model;
  json ptq_notes = model_notes(state, chosen, "ptq");
  if (!saved_with(finished.ptq_model, ptq_notes, "formats_digest")) {
    auto model = quantized_base(state, chosen.formats);
    save_compressed(finished.ptq_model, model, ptq_notes, state.options.tokenizer_dir);
  }
  if (!state.options.run_qat) return finished;

  finished.qat_key = qat_key(state, chosen);
  const fs::path qat_dir = state.options.out_dir / "models" / "mixed-qat";
  json qat_notes = model_notes(state, chosen, "qat");
  qat_notes[kNotesKey]["qat_key"] = finished.qat_key;
  if (!state.store.has(finished.qat_key) || !saved_with(qat_dir, qat_notes, "qat_key")) {
    if (state.store.has(finished.qat_key)) state.log << "qat: the trained model is not on disk; training it again\n";
    state.store.put(finished.qat_key, train_qat(state, chosen, qat_dir, qat_notes));
  }
  finished.qat_model = qat_dir;
  const json qat_record = *state.store.get(finished.qat_key);
  finished.qat_validation_accuracy = qat_record.at("validation_accuracy").get<double>();
  finished.qat_validation_loss = best_epoch_validation_loss(qat_record);
  finished.final_is_qat = qat_improves(chosen, *finished.qat_validation_accuracy, *finished.qat_validation_loss,
                                       state.split.validation.size());
  if (finished.final_is_qat) finished.final_model = qat_dir;
  state.log << "qat: validation accuracy " << *finished.qat_validation_accuracy << ", loss "
            << *finished.qat_validation_loss << " (PTQ " << chosen.accuracy << ", loss " << chosen.loss
            << "); the final model is " << finished.final_model.string() << "\n";
  return finished;
}

json evaluate_on_test(const SearchState& state, const FinishedModels& finished, const FracTable& fracs,
                      const data::TokenizedDataset& test_set) {
  struct Row {
    std::string key, model;
    std::optional<double> validation_accuracy;
    std::function<json(std::ostream&)> run;
  };
  const auto& counts = state.pool.parameter_counts();
  std::vector<Row> rows;
  const LinearBits float_bits{32 * linear_bits(finished.chosen.formats, counts).parameters,
                              linear_bits(finished.chosen.formats, counts).parameters};
  rows.push_back({"test/float", "float32", state.store.get("float")->at("accuracy").get<double>(),
                  [&](std::ostream& log) {
                    ModelPool::Lease lease = state.pool.take();
                    return evaluation_with_bits(train::evaluate(lease.model(), test_set, state.options.eval, log),
                                                float_bits);
                  }});
  for (int64_t width : state.options.test_uniform_widths) {
    for (UniformRule rule : {UniformRule::half, UniformRule::calibrated}) {
      const MixedFormats formats =
          uniform_formats(state.pool.linears(), width, rule == UniformRule::calibrated ? &fracs : nullptr);
      const std::string name = "uniform/" + to_string(rule) + "/w" + std::to_string(width);
      std::optional<double> validation;
      if (auto stored = state.store.get(name)) validation = stored->at("accuracy").get<double>();
      rows.push_back({"test/" + name, "uniform " + std::to_string(width) + " bits, frac " +
                                          (rule == UniformRule::half ? "width/2" : "calibrated"),
                      validation, [&state, &test_set, formats, &counts](std::ostream& log) {
                        return evaluation_with_bits(
                            evaluate_formats(state.pool, formats, test_set, state.options.eval, log),
                            linear_bits(formats, counts));
                      }});
    }
  }
  rows.push_back({"test/mixed-ptq/" + formats_digest(finished.chosen.formats), "mixed (PTQ)",
                  finished.chosen.accuracy, [&](std::ostream& log) {
                    return evaluation_with_bits(
                        evaluate_formats(state.pool, finished.chosen.formats, test_set, state.options.eval, log),
                        finished.chosen.bits);
                  }});
  if (finished.qat_model) {
    rows.push_back({"test/mixed-" + finished.qat_key, "mixed (PTQ + QAT)", finished.qat_validation_accuracy,
                    [&](std::ostream& log) {
                      auto model = load_compressed(*finished.qat_model, state.options.qat.seed).model;
                      return evaluation_with_bits(train::evaluate(model, test_set, state.options.eval, log),
                                                  finished.chosen.bits);
                    }});
  }
  std::vector<SweepPoint> points;
  for (const Row& row : rows) points.push_back({row.key, row.run, evaluation_work(test_set)});
  run_sweep_points(state.store, points, point_runner_options(state.options, nullptr), "test split", state.log);

  json table = json::array();
  const double float_test = state.store.get("test/float")->at("accuracy").get<double>();
  for (const Row& row : rows) {
    const json result = *state.store.get(row.key);
    table.push_back({{"model", row.model},
                     {"key", row.key},
                     {"linear_bits", result.at("linear_bits")},
                     {"average_bits", result.at("average_bits")},
                     {"validation_accuracy", row.validation_accuracy ? json(*row.validation_accuracy) : json(nullptr)},
                     {"test_accuracy", result.at("accuracy")},
                     {"test_loss", result.at("loss")},
                     {"points_below_float", 100.0 * (float_test - result.at("accuracy").get<double>())}});
  }
  return table;
}

}  // namespace whittle::experiments
