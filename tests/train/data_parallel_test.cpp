// Data-parallel training over Gloo on loopback: two ranks (threads of this
// process, each with its own model and Gloo group) against one process with
// the same global batch, and a rank that leaves mid-run.
#include "train/data_parallel.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <map>
#include <iostream>
#include <sstream>
#include <thread>

#include "support/synthetic_task.h"
#include "train/evaluate.h"
#include "train/trainer.h"
#include "util/error.h"

namespace whittle::train {
namespace {

using test_support::contains_seven_task;
using test_support::tiny_task_config;

uint16_t test_port(int offset) { return static_cast<uint16_t>(20000 + (::getpid() * 7 + offset) % 20000); }

Rendezvous loopback(int rank, int world, uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  return {{rank, world, "test"}, "127.0.0.1", port, timeout};
}

TrainOptions test_training() {
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 8;
  options.learning_rate = 1e-3;
  options.seed = 5;
  options.length_multiple = 8;
  return options;
}

struct RankOutcome {
  std::vector<EpochReport> reports;
  std::vector<torch::Tensor> weights;
  double accuracy = 0.0;
};

// Without dropout: its masks are drawn per rank for the rank's slice, so
// with it the runs agree in distribution only, as PyTorch's DDP runs do.
model::BertConfig without_dropout() {
  model::BertConfig config = tiny_task_config();
  config.hidden_dropout_prob = 0.0;
  config.attention_probs_dropout_prob = 0.0;
  return config;
}

RankOutcome train_once(const data::TokenizedDataset& data, std::shared_ptr<DataParallel> ranks) {
  auto model = model::new_classifier(without_dropout(), /*seed=*/1);
  TrainOptions options = test_training();
  options.data_parallel = ranks;
  EvalOptions eval{16, 8, ranks};
  std::ostringstream log;
  RankOutcome outcome;
  outcome.reports = train_classifier(model, data, options, nullptr, log);
  outcome.accuracy = evaluate(model, data, eval, log).accuracy;
  for (const auto& parameter : model->parameters()) outcome.weights.push_back(parameter.detach().clone());
  return outcome;
}

// Tolerance: the ranks see the same examples and the same summed gradient,
// but each pads its slice to its own length and sums in another order, so
// float32 rounding (about 6e-8 relative per operation) differs; over the
// 12 steps here that stays orders of magnitude below these bounds, while a
// wrong slice, scale or missing reduction moves the loss by more than 1e-2.
constexpr double kLossTolerance = 2e-5;
constexpr double kWeightTolerance = 1e-4;

TEST(DataParallel, TwoRanksMatchOneProcessWithTheSameGlobalBatch) {
  const auto data = contains_seven_task(49, 3);  // the last batch of 1 leaves rank 0 nothing to train on
  const RankOutcome single = train_once(data, nullptr);

  std::vector<RankOutcome> ranks(2);
  const uint16_t port = test_port(0);
  std::vector<std::thread> threads;
  std::vector<std::string> errors(2);
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        at::set_num_threads(1);
        ranks[rank] = train_once(data, std::make_shared<DataParallel>(loopback(rank, 2, port)));
      } catch (const std::exception& error) {
        errors[rank] = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(errors, std::vector<std::string>(2)) << errors[0] << " | " << errors[1];

  double largest_loss_gap = 0.0, largest_weight_gap = 0.0;
  for (const RankOutcome& rank : ranks) {
    ASSERT_EQ(rank.reports.size(), single.reports.size());
    for (std::size_t epoch = 0; epoch < single.reports.size(); ++epoch) {
      const auto& expected = single.reports[epoch].step_losses;
      const auto& actual = rank.reports[epoch].step_losses;
      ASSERT_EQ(actual.size(), expected.size());
      for (std::size_t step = 0; step < expected.size(); ++step) {
        EXPECT_NEAR(actual[step], expected[step], kLossTolerance) << "epoch " << epoch + 1 << " step " << step;
        largest_loss_gap = std::max(largest_loss_gap, std::abs(actual[step] - expected[step]));
      }
    }
    ASSERT_EQ(rank.weights.size(), single.weights.size());
    for (std::size_t i = 0; i < single.weights.size(); ++i) {
      const double gap = (rank.weights[i] - single.weights[i]).abs().max().item<double>();
      EXPECT_LE(gap, kWeightTolerance) << "tensor " << i;
      largest_weight_gap = std::max(largest_weight_gap, gap);
    }
    EXPECT_DOUBLE_EQ(rank.accuracy, ranks[0].accuracy) << "the evaluation is reduced: every rank gets the same";
  }
  for (std::size_t i = 0; i < single.weights.size(); ++i) {
    EXPECT_TRUE(torch::equal(ranks[0].weights[i], ranks[1].weights[i])) << "ranks stay identical; tensor " << i;
  }
  EXPECT_NE(single.reports[0].step_losses.front(), single.reports[1].step_losses.back()) << "training moved";
  std::cout << "2 ranks against 1 process: largest step-loss difference " << largest_loss_gap
            << ", largest weight difference " << largest_weight_gap << "\n";
}

TEST(DataParallel, ARankThatLeavesStopsTheOthersWithAnError) {
  const uint16_t port = test_port(1);
  std::string error_message;
  std::chrono::duration<double> waited{};
  std::thread survivor([&] {
    try {
      DataParallel ranks(loopback(0, 2, port, std::chrono::seconds(5)));
      ranks.barrier();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // rank 1 is gone by now
      auto start = std::chrono::steady_clock::now();
      try {
        ranks.sum({torch::ones({1000})});
      } catch (const Error& error) {
        error_message = error.what();
      }
      waited = std::chrono::steady_clock::now() - start;
    } catch (const std::exception& error) {
      error_message = std::string("before the sum: ") + error.what();
    }
  });
  {
    DataParallel leaver(loopback(1, 2, port, std::chrono::seconds(5)));
    leaver.barrier();
  }
  survivor.join();
  EXPECT_NE(error_message.find("failed on rank 0"), std::string::npos) << error_message;
  EXPECT_EQ(error_message.find("before the sum"), std::string::npos) << error_message;
  EXPECT_LT(waited.count(), 30.0);
}

TEST(DataParallel, RendezvousFromTheEnvironment) {
  auto environment = [](std::map<std::string, std::string> variables) -> EnvironmentLookup {
    return [variables](const std::string& name) -> std::optional<std::string> {
      auto found = variables.find(name);
      return found == variables.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
  };
  EXPECT_FALSE(Rendezvous::from_environment(environment({})).has_value()) << "one process";
  auto rendezvous = Rendezvous::from_environment(environment(
      {{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "node1"}, {"MASTER_PORT", "1234"},
       {"WHITTLE_COLLECTIVE_TIMEOUT", "2.5"}}));
  ASSERT_TRUE(rendezvous.has_value());
  EXPECT_EQ(rendezvous->place.index, 1);
  EXPECT_EQ(rendezvous->master_address, "node1");
  EXPECT_EQ(rendezvous->master_port, 1234);
  EXPECT_EQ(rendezvous->timeout, std::chrono::milliseconds(2500));
  for (auto [name, bad] : std::vector<std::pair<std::string, std::string>>{
           {"MASTER_PORT", "0"}, {"MASTER_PORT", "http"}, {"WHITTLE_COLLECTIVE_TIMEOUT", "soon"},
           {"WHITTLE_COLLECTIVE_TIMEOUT", "-1"}}) {
    EXPECT_THROW(Rendezvous::from_environment(environment({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {name, bad}})), Error)
        << name << "=" << bad;
  }
}

TEST(DataParallel, SlicesCoverTheGlobalBatchOnce) {
  const std::vector<int64_t> batch = {5, 1, 9, 3, 7};
  EXPECT_EQ(rank_slice(batch, 0, 2), (std::vector<int64_t>{5, 1}));
  EXPECT_EQ(rank_slice(batch, 1, 2), (std::vector<int64_t>{9, 3, 7}));
  EXPECT_TRUE(rank_slice({4}, 0, 2).empty()) << "a rank may have nothing in a short last batch";
}

}  // namespace
}  // namespace whittle::train
