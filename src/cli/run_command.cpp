#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "experiments/train_with_evaluation.h"
#include "cli/options.h"
#include "deploy/deployed_classifier.h"
#include "deploy/evaluate_deployed.h"
#include "deploy/model_file.h"
#include "experiments/compressed_model.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

struct RunArguments {
  std::string model;
  bool classify = false;
  DataOptions data;
  std::string split = "test";
  int64_t limit = 0;
  int64_t batch_size = 32;
  std::string reference;
  std::string predictions;
};

text::Tokenizer tokenizer_for(const RunArguments& arguments, const deploy::CompiledModel& model) {
  if (!arguments.data.tokenizer_dir.empty()) return text::Tokenizer::load(arguments.data.tokenizer_dir);
  return deploy::make_tokenizer(model.tokenizer);
}

nlohmann::json engine_counts(const deploy::DeployedClassifier& classifier) {
  std::map<std::string, int> counts;
  for (const auto& [name, engine] : classifier.engines()) ++counts[engine];
  return counts;
}

// The simulated model (the checkpoint with its passes) over the same batches.
nlohmann::json compare_with_reference(const RunArguments& arguments, const data::TokenizedDataset& dataset,
                                      const train::EvalResult& compiled, const train::EvalOptions& options) {
  auto loaded = experiments::load_compressed(arguments.reference, arguments.data.seed);
  train::EvalResult simulated = train::evaluate(loaded.model, dataset, options, std::cerr);
  deploy::Agreement agreement = deploy::compare_logits(compiled.logits, simulated.logits);
  std::cerr << "agreement with " << arguments.reference << ": " << agreement.same_prediction << " of "
            << agreement.examples << " predictions, " << agreement.identical_logits << " identical logits\n";
  nlohmann::json reference = experiments::to_json(simulated);
  reference["from"] = arguments.reference;
  return {{"reference", reference},
          {"agreement", deploy::to_json(agreement)},
          {"accuracy_difference", compiled.accuracy - simulated.accuracy}};
}

void run_evaluation(const RunArguments& arguments, const deploy::CompiledModel& model,
                    deploy::DeployedClassifier& classifier) {
  require_at_least_one("--batch-size", arguments.batch_size);
  text::Tokenizer tokenizer = tokenizer_for(arguments, model);
  auto dataset = load_split(arguments.data, parse_split(arguments.split), arguments.limit, tokenizer);
  train::EvalOptions options{arguments.batch_size, 32};
  train::EvalResult result = deploy::evaluate_deployed(classifier, dataset, options, std::cerr);
  if (!arguments.predictions.empty()) write_file_atomically(arguments.predictions, predictions_jsonl(result, dataset));
  nlohmann::json summary = experiments::to_json(result);
  summary["split"] = arguments.split;
  summary["engines"] = engine_counts(classifier);
  if (!arguments.reference.empty()) summary.update(compare_with_reference(arguments, dataset, result, options));
  print_json_line(summary);
}

// One right-padded batch of token id rows.
std::pair<torch::Tensor, torch::Tensor> padded(const std::vector<std::vector<int32_t>>& rows, int64_t pad_id) {
  int64_t length = 0;
  for (const auto& row : rows) length = std::max<int64_t>(length, static_cast<int64_t>(row.size()));
  torch::Tensor ids = torch::full({static_cast<int64_t>(rows.size()), length}, pad_id, torch::kInt64);
  torch::Tensor mask = torch::zeros({static_cast<int64_t>(rows.size()), length}, torch::kInt64);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t t = 0; t < rows[r].size(); ++t) ids[r][t] = rows[r][t];
    mask[r].narrow(0, 0, static_cast<int64_t>(rows[r].size())).fill_(1);
  }
  return {ids, mask};
}

void write_predictions(deploy::DeployedClassifier& classifier, const std::vector<std::vector<int32_t>>& rows,
                       std::ostream& out) {
  auto [ids, mask] = padded(rows, classifier.config().pad_token_id);
  torch::Tensor logits = classifier.forward(ids, mask);
  auto values = logits.accessor<float, 2>();
  for (int64_t r = 0; r < logits.size(0); ++r) {
    std::vector<float> row(values[r].data(), values[r].data() + logits.size(1));
    int64_t predicted = std::max_element(row.begin(), row.end()) - row.begin();
    out << nlohmann::json({{"prediction", predicted}, {"logits", row}}).dump() << '\n';
  }
}

// JSON lines {"text": ...} in, one {"prediction": i, "logits": [...]} line
// out for each, in order; a blank line gives a blank line, so that output
// line N answers input line N.
void run_classification(const RunArguments& arguments, const deploy::CompiledModel& model,
                        deploy::DeployedClassifier& classifier, std::istream& in, std::ostream& out) {
  require_at_least_one("--batch-size", arguments.batch_size);
  text::Tokenizer tokenizer = tokenizer_for(arguments, model);
  std::vector<std::vector<int32_t>> rows;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (is_blank(line)) {
      if (!rows.empty()) write_predictions(classifier, rows, out);
      rows.clear();
      out << '\n';
      continue;
    }
    rows.push_back(tokenizer.encode(text_of_line(line, line_number), arguments.data.max_length));
    if (static_cast<int64_t>(rows.size()) == arguments.batch_size) {
      write_predictions(classifier, rows, out);
      rows.clear();
    }
  }
  if (!rows.empty()) write_predictions(classifier, rows, out);
  out.flush();
  if (!out) throw Error("cannot write the predictions to stdout");
}

void run(const RunArguments& arguments) {
  arguments.data.validate();
  validate_limit("--limit", arguments.limit);
  deploy::CompiledModel model = deploy::read_compiled_model(arguments.model);
  require_max_length_fits(arguments.data.max_length, model.config.max_position_embeddings);
  deploy::DeployedClassifier classifier(model);
  if (arguments.classify) {
    if (!arguments.reference.empty()) throw Error("--reference compares evaluations; it does not go with --classify");
    run_classification(arguments, model, classifier, std::cin, std::cout);
  } else {
    run_evaluation(arguments, model, classifier);
  }
}

}  // namespace

void register_run_command(CLI::App& app) {
  auto [command, arguments] = add_command<RunArguments>(app, "run", run,
      "run a compiled model: evaluate it on IMDb, or classify JSON lines {\"text\": ...} from stdin");
  command->add_option("--model", arguments->model, "model file written by whittle compile")->required();
  command->add_flag("--classify", arguments->classify,
                    "classify JSON lines {\"text\": ...} from stdin into {\"prediction\", \"logits\"} lines");
  arguments->data.add_to(*command);
  command->add_option("--split", arguments->split, "train or test")->capture_default_str();
  command->add_option("--limit", arguments->limit, "balanced subset of the split (0 = all)");
  command->add_option("--batch-size", arguments->batch_size, "batch size")->capture_default_str();
  command->add_option("--reference", arguments->reference,
                      "checkpoint the model was compiled from: evaluate it too and report how far they agree");
  command->add_option("--predictions", arguments->predictions, "write one JSON line per example: logits, label, prediction");
}

}  // namespace whittle::cli
