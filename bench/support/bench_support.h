#pragma once
// What the training-throughput benchmarks share: timing, a min/median/max
// summary of rounds, random BERT inputs, and one Hugging Face Trainer step
// (AdamW at its defaults, clipping at 1.0) with its wall and CPU time.
#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/bert.h"
#include "util/runtime.h"

namespace whittle::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Milliseconds per call, over `calls` calls in a row.
template <typename Function>
double milliseconds_per_call(Function&& function, int calls) {
  auto start = Clock::now();
  for (int i = 0; i < calls; ++i) function();
  return 1000.0 * seconds_since(start) / calls;
}

struct Range {
  double min, median, max;
};

inline Range range_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return {values.front(), values[values.size() / 2], values.back()};
}

inline nlohmann::json to_json(const Range& range) {
  return {{"min", range.min}, {"median", range.median}, {"max", range.max}};
}

struct StepInputs {
  torch::Tensor ids, attention, labels;
};

// Token ids away from the special and unused ones, no padding.
inline StepInputs random_step_inputs(int64_t batch, int64_t length) {
  return {torch::randint(1000, 30000, {batch, length}, torch::kInt64), torch::ones({batch, length}, torch::kInt64),
          torch::randint(0, 2, {batch}, torch::kInt64)};
}

struct StepTime {
  double wall = 0, cpu = 0;

  StepTime& operator+=(const StepTime& other) {
    wall += other.wall;
    cpu += other.cpu;
    return *this;
  }
};

struct TrainingStep {
  model::BertForSequenceClassification model;
  torch::optim::AdamW optimizer;
  std::vector<torch::Tensor> parameters;

  explicit TrainingStep(model::BertForSequenceClassification m)
      : model(std::move(m)),
        optimizer(model->parameters(), torch::optim::AdamWOptions(5e-5).weight_decay(0.0)),
        parameters(model->parameters()) {
    model->train();
  }

  void step(const StepInputs& inputs) {
    for (auto& parameter : parameters) parameter.mutable_grad() = torch::Tensor();
    auto loss = torch::cross_entropy_loss(model->forward(inputs.ids, inputs.attention), inputs.labels);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(parameters, 1.0);
    optimizer.step();
  }

  StepTime timed_step(const StepInputs& inputs) {
    auto start = Clock::now();
    double cpu_start = process_cpu_seconds();
    step(inputs);
    return {seconds_since(start), process_cpu_seconds() - cpu_start};
  }
};

}  // namespace whittle::bench
