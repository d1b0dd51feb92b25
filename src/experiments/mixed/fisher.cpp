#include "experiments/mixed/fisher.h"

#include <chrono>

#include "data/batching.h"
#include "util/error.h"

namespace whittle::experiments {
namespace {

using ScoreByWidth = std::map<int64_t, double>;

// Reviews per backward pass. An input's gradient is per review whatever the
// batch; a parameter's is the sum over the batch, whose square sums the
// reviews' squares plus cross terms that vanish in expectation where the
// mean gradient does (a trained model). One review at a time would give the
// per-review squares exactly, at many times the cost of tiny operations.
constexpr int64_t kFisherBatch = 8;

// Identity on the input, but sees the gradient that reaches this layer's
// input from this layer alone (Q, K and V share one tensor, so the hook sits
// on a view of it, not on the tensor itself).
class InputFisherProbeImpl : public model::LinearTransformImpl {
 public:
  static constexpr const char* kKind = "input-fisher-probe";
  InputFisherProbeImpl(std::map<int64_t, int64_t> frac_by_width, ScoreByWidth& scores)
      : frac_by_width_(std::move(frac_by_width)), scores_(scores) {}
  std::string kind() const override { return kKind; }
  nlohmann::json describe() const override { return {{"probe", "input fisher"}}; }
  torch::Tensor transform_input(const torch::Tensor& input) override {
    if (!input.requires_grad()) return input;
    torch::Tensor seen = input.view_as(input);
    torch::Tensor values = input.detach();
    seen.register_hook([this, values](const torch::Tensor& gradient) {
      torch::NoGradGuard no_grad;
      torch::Tensor weight = gradient.detach().square();
      for (const auto& [width, frac] : frac_by_width_) {
        torch::Tensor error = passes::fixed_point_quantize(values, width, frac) - values;
        scores_[width] += (weight * error.square()).sum().item<double>();
      }
    });
    return seen;
  }

 private:
  std::map<int64_t, int64_t> frac_by_width_;
  ScoreByWidth& scores_;
};
TORCH_MODULE(InputFisherProbe);

// A weight's or bias's quantization errors at every width, fixed for the pass.
std::map<int64_t, torch::Tensor> squared_errors(const torch::Tensor& values, const std::map<int64_t, int64_t>& fracs) {
  torch::NoGradGuard no_grad;
  std::map<int64_t, torch::Tensor> errors;
  for (const auto& [width, frac] : fracs) {
    errors[width] = (passes::fixed_point_quantize(values.detach(), width, frac) - values.detach()).square();
  }
  return errors;
}

void add_weighted(ScoreByWidth& scores, const torch::Tensor& gradient,
                  const std::map<int64_t, torch::Tensor>& squared_errors) {
  if (!gradient.defined()) return;
  torch::Tensor weight = gradient.square();
  for (const auto& [width, error] : squared_errors) scores[width] += (weight * error).sum().item<double>();
}

// Keeps every parameter's requires_grad as it was, the embedding tables off
// (their gradients are large and unused), everything else on.
class GradientScope {
 public:
  explicit GradientScope(model::BertForSequenceClassification& model) {
    for (auto& item : model->named_parameters()) {
      saved_.emplace_back(item.value(), item.value().requires_grad());
      item.value().set_requires_grad(!item.key().ends_with("_embeddings.weight"));
    }
  }
  ~GradientScope() {
    for (auto& [parameter, requires_grad] : saved_) {
      parameter.mutable_grad() = torch::Tensor();
      parameter.set_requires_grad(requires_grad);
    }
  }
  GradientScope(const GradientScope&) = delete;
  GradientScope& operator=(const GradientScope&) = delete;

 private:
  std::vector<std::pair<torch::Tensor, bool>> saved_;
};

}  // namespace

FisherScores fisher_scores(model::BertForSequenceClassification& model, const data::TokenizedDataset& examples,
                           const std::vector<int64_t>& widths, const FracTable& fracs) {
  if (examples.size() == 0) throw Error("the Fisher pass needs at least one example");
  const auto start = std::chrono::steady_clock::now();
  FisherScores result;
  const bool was_training = model->is_training();
  model->eval();
  GradientScope gradients(model);

  struct Parameters {
    model::Linear linear;
    std::string weight_key, bias_key;
    std::map<int64_t, torch::Tensor> weight_errors, bias_errors;
  };
  std::vector<Parameters> parameters;
  auto fracs_at = [&](const std::string& key) {
    std::map<int64_t, int64_t> chosen;
    for (int64_t width : widths) chosen[width] = fracs.at(key).at(width);
    return chosen;
  };
  for (auto& [name, linear] : model::find_linears(*model)) {
    Parameters entry{linear, QuantTarget{name, TensorRole::weight}.key(), QuantTarget{name, TensorRole::bias}.key(), {}, {}};
    entry.weight_errors = squared_errors(linear->weight, fracs_at(entry.weight_key));
    entry.bias_errors = squared_errors(linear->bias, fracs_at(entry.bias_key));
    parameters.push_back(std::move(entry));
    const std::string input_key = QuantTarget{name, TensorRole::input}.key();
    linear->attach(InputFisherProbe(fracs_at(input_key), result.score[input_key]).ptr());
  }
  auto detach_probes = [&] {
    for (auto& [name, linear] : model::find_linears(*model)) linear->detach(InputFisherProbeImpl::kKind);
  };
  try {
    const auto pad_id = static_cast<int32_t>(model->config().pad_token_id);
    for (int64_t first = 0; first < examples.size(); first += kFisherBatch) {
      std::vector<int64_t> indices;
      for (int64_t i = first; i < std::min(first + kFisherBatch, examples.size()); ++i) indices.push_back(i);
      data::Batch batch = data::make_batch(examples, indices, pad_id, 8, model->config().max_position_embeddings);
      // Summed, not averaged: each review's input gradients are its own.
      torch::Tensor loss = torch::cross_entropy_loss(model->forward(batch.input_ids, batch.attention_mask),
                                                     batch.labels, {}, at::Reduction::Sum);
      loss.backward();
      for (Parameters& entry : parameters) {
        add_weighted(result.score[entry.weight_key], entry.linear->weight.grad(), entry.weight_errors);
        add_weighted(result.score[entry.bias_key], entry.linear->bias.grad(), entry.bias_errors);
      }
      for (auto& item : model->named_parameters()) item.value().mutable_grad() = torch::Tensor();
    }
  } catch (...) {
    detach_probes();
    if (was_training) model->train();
    throw;
  }
  detach_probes();
  if (was_training) model->train();
  result.examples = examples.size();
  for (auto& [key, by_width] : result.score) {
    for (auto& [width, score] : by_width) score /= static_cast<double>(result.examples);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

nlohmann::json to_json(const FisherScores& scores) {
  nlohmann::json json = {{"examples", scores.examples}, {"seconds", scores.seconds}, {"score", nlohmann::json::object()}};
  for (const auto& [key, by_width] : scores.score) {
    for (const auto& [width, score] : by_width) json["score"][key][std::to_string(width)] = score;
  }
  return json;
}

FisherScores fisher_scores_from_json(const nlohmann::json& json) {
  FisherScores scores;
  scores.examples = json.at("examples").get<int64_t>();
  scores.seconds = json.value("seconds", 0.0);
  for (const auto& [key, by_width] : json.at("score").items()) {
    for (const auto& [width, score] : by_width.items()) scores.score[key][std::stoll(width)] = score.get<double>();
  }
  return scores;
}

}  // namespace whittle::experiments
