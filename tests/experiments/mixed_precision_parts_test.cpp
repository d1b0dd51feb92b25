// The parts of the mixed-precision search, each on its own: the validation
// split, the frac choice, the bit allocation, the rank comparison and the
// by-name config the search writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "experiments/mixed/bit_allocation.h"
#include "experiments/mixed/frac_choice.h"
#include "experiments/mixed/mixed_config.h"
#include "experiments/mixed/mixed_finish.h"
#include "experiments/mixed/sensitivity.h"
#include "experiments/mixed/validation_split.h"
#include "experiments/mixed/width_search.h"
#include "passes/quantize/quantize_config.h"
#include "support/error_message.h"
#include "support/synthetic_task.h"
#include "support/temp_dir.h"
#include "util/atomic_file.h"

namespace whittle::experiments {
namespace {

using test_support::TempDir;

TEST(ValidationSplit, IsBalancedDisjointAndTheSameForTheSameSeed) {
  const data::TokenizedDataset train = test_support::contains_seven_task(300, 5);
  const ValidationSplit split = split_validation(train, 40, 7);
  ASSERT_EQ(split.validation.size(), 40);
  EXPECT_EQ(split.remainder.size(), 260);
  EXPECT_EQ(std::count(split.validation.labels.begin(), split.validation.labels.end(), 1), 20);
  EXPECT_TRUE(std::is_sorted(split.validation_indices.begin(), split.validation_indices.end()));
  for (size_t i = 0; i < split.validation_indices.size(); ++i) {
    EXPECT_EQ(split.validation.ids[i], train.ids[static_cast<size_t>(split.validation_indices[i])]);
  }
  EXPECT_EQ(split.remainder.total_tokens() + split.validation.total_tokens(), train.total_tokens());

  EXPECT_EQ(split_validation(train, 40, 7).validation_indices, split.validation_indices);
  EXPECT_NE(split_validation(train, 40, 8).validation_indices, split.validation_indices);
  EXPECT_EQ(describe(split).at("size"), 40);
  EXPECT_EQ(describe(split).at("seed"), 7);
  EXPECT_EQ(describe(split).at("digest"), describe(split_validation(train, 40, 7)).at("digest"));
}

TEST(ValidationSplit, RefusesSizesTheSplitCannotGive) {
  const data::TokenizedDataset train = test_support::contains_seven_task(10, 5);
  EXPECT_NE(test_support::error_message([&] { split_validation(train, 0, 0); }).find("between 1 and 9"),
            std::string::npos);
  EXPECT_NE(test_support::error_message([&] { split_validation(train, 10, 0); }).find("the train split has 10"),
            std::string::npos);
}

TEST(FracChoice, KeepsSmallWeightsThatWidthHalfRoundsToZero) {
  torch::manual_seed(0);
  const torch::Tensor weights = torch::randn({64, 64}) * 0.04;
  const int64_t frac = least_error_frac(weights, 4, frac_range(TensorRole::weight, 4));
  EXPECT_GE(frac, 5);
  const double half_error = (passes::fixed_point_quantize(weights, 4, 2) - weights).square().sum().item<double>();
  const double chosen_error = (passes::fixed_point_quantize(weights, 4, frac) - weights).square().sum().item<double>();
  EXPECT_LT(chosen_error, 0.5 * half_error);
  // An input's frac stays within its width.
  const torch::Tensor tiny_inputs = torch::randn({256}) * 1e-2;
  EXPECT_EQ(least_error_frac(tiny_inputs, 6, frac_range(TensorRole::input, 6)), 6);
}

AllocationProblem two_tensor_problem() {
  AllocationProblem problem;
  problem.counts = {{"big", 1000}, {"small", 10}};
  problem.widths = {4, 6, 8};
  problem.damage["big"] = {{4, 0.5}, {6, 0.01}, {8, 0.0}};
  problem.damage["small"] = {{4, 0.02}, {6, 0.0}, {8, 0.0}};
  return problem;
}

TEST(BitAllocation, MonotoneDamageIgnoresGainsAndNeverFavoursNarrower) {
  const auto damage = monotone_damage({{4, 0.3}, {6, -0.01}, {8, 0.05}, {10, 0.0}});
  EXPECT_DOUBLE_EQ(damage.at(10), 0.0);
  EXPECT_DOUBLE_EQ(damage.at(8), 0.05);
  EXPECT_DOUBLE_EQ(damage.at(6), 0.05);
  EXPECT_DOUBLE_EQ(damage.at(4), 0.3);
}

TEST(BitAllocation, GreedyPathTakesTheCheapestBitsFirstAndEndsNarrowest) {
  const AllocationProblem problem = two_tensor_problem();
  const std::vector<WidthChoice> path = greedy_path(problem);
  ASSERT_GE(path.size(), 3u);
  EXPECT_EQ(path.front(), widest_choice(problem));
  EXPECT_EQ(path.back(), (WidthChoice{{"big", 4}, {"small", 4}}));
  for (size_t i = 1; i < path.size(); ++i) EXPECT_LT(total_bits(problem, path[i]), total_bits(problem, path[i - 1]));
  // Free steps first, the largest saving first: the small tensor's 8→6 and
  // the big one's 8→6 (0.01 for 2000 bits) come before any 4-bit step.
  EXPECT_EQ(path[1], (WidthChoice{{"big", 8}, {"small", 6}}));
  EXPECT_EQ(path[2], (WidthChoice{{"big", 6}, {"small", 6}}));
  EXPECT_EQ(total_bits(problem, path.back()), 4 * 1010);
  EXPECT_DOUBLE_EQ(predicted_damage(problem, path.back()), 0.52);
}

TEST(BitAllocation, SingleStepMovesGoOneCandidateNarrower) {
  const AllocationProblem problem = two_tensor_problem();
  const auto moves = single_step_moves(problem, {{"big", 8}, {"small", 6}});
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_EQ(moves[0].key, "big");
  EXPECT_EQ(moves[0].to, 6);
  EXPECT_EQ(moves[1].key, "small");
  EXPECT_EQ(moves[1].to, 4);
}

// A measured accuracy that the predictions get partly wrong: the big
// tensor's 4 bits cost less than its sensitivity said, the small one's more.
MeasuredConfig synthetic_measure(const AllocationProblem& problem, const WidthChoice& choice) {
  const std::map<std::string, std::map<int64_t, double>> truth = {
      {"big", {{4, 0.004}, {6, 0.002}, {8, 0.0}}},
      {"small", {{4, 0.02}, {6, 0.0}, {8, 0.0}}}};
  MeasuredConfig measured;
  measured.accuracy = 0.9;
  for (const auto& [key, width] : choice) measured.accuracy -= truth.at(key).at(width);
  measured.bits.bits = total_bits(problem, choice);
  measured.bits.parameters = total_elements(problem);
  return measured;
}

TEST(WidthSearch, EndsWithinBudgetAndRefinementFindsWhatThePredictionsMissed) {
  AllocationProblem problem = two_tensor_problem();
  problem.damage["small"][4] = 0.001;  // predicted nearly free, truly 0.02
  const WidthSearchSettings settings{0.9 - 0.005, 0, 4};
  int64_t measured = 0;
  auto measure = [&](const WidthChoice& choice) {
    ++measured;
    return synthetic_measure(problem, choice);
  };
  std::ostringstream log;
  const WidthSearchOutcome outcome = search_widths(problem, measure, settings, log);
  ASSERT_TRUE(outcome.budget_met) << log.str();
  EXPECT_GE(outcome.measured.accuracy, settings.target_accuracy);
  // The path goes small 8→6, big 8→6, small 6→4, big 6→4: the binary search
  // stops at both at 6 (small at 4 goes over); refinement then finds that
  // big at 4 fits.
  EXPECT_EQ(outcome.choice, (WidthChoice{{"big", 4}, {"small", 6}})) << log.str();
  EXPECT_EQ(outcome.evaluations, measured);
  EXPECT_LE(outcome.evaluations, most_search_evaluations(problem, settings));
}

TEST(WidthSearch, ReportsTheWidestChoiceWhenNothingIsWithinBudget) {
  const AllocationProblem problem = two_tensor_problem();
  std::ostringstream log;
  const WidthSearchOutcome outcome = search_widths(
      problem, [&](const WidthChoice& choice) { return synthetic_measure(problem, choice); }, {0.95, 2, 4}, log);
  EXPECT_FALSE(outcome.budget_met);
  EXPECT_EQ(outcome.choice, widest_choice(problem));
}

TEST(QatChoice, KeepsQatOnlyWhenValidationLossFallsAndAccuracyRisesBeyondNoise) {
  MeasuredConfig ptq;
  ptq.accuracy = 0.921;
  ptq.loss = 0.2034;
  // Two standard errors at 92.1% on 2,000 reviews: 1.21 points.
  EXPECT_FALSE(qat_improves(ptq, 0.9295, 0.1983, 2000));  // +0.85 points: noise-sized
  EXPECT_TRUE(qat_improves(ptq, 0.9350, 0.1983, 2000));
  EXPECT_TRUE(qat_improves(ptq, 0.9295, 0.1983, 20000));  // the same gain on ten times the reviews
  EXPECT_FALSE(qat_improves(ptq, 0.9500, 0.2400, 2000));  // more accurate, but its loss rose
  EXPECT_FALSE(qat_improves(ptq, 0.9000, 0.1900, 2000));
}

TEST(RankComparison, SpearmanOfAgreeingAndReversedOrders) {
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  EXPECT_DOUBLE_EQ(spearman({1, 1, 1}, {1, 2, 3}), 0.0);
  EXPECT_NEAR(spearman({1, 2, 2, 4}, {1, 2, 3, 4}), 0.9486832980505138, 1e-12);
}

TEST(MixedConfig, ByNameTomlReadsBackAsTheSameConfig) {
  const std::vector<std::string> linears = {"bert.encoder.layer.0.attention.self.query", "classifier"};
  FracTable fracs;
  for (const std::string& linear : linears) {
    for (TensorRole role : {TensorRole::input, TensorRole::weight, TensorRole::bias}) {
      for (int64_t width : {5, 8, 12}) fracs[QuantTarget{linear, role}.key()][width] = width - 1;
    }
  }
  const WidthChoice choice = {{linears[0] + ":weight", 5}, {linears[0] + ":bias", 12},
                              {linears[1] + ":weight", 8}, {linears[1] + ":bias", 8}};
  const MixedFormats formats = formats_of(linears, choice, 8, fracs);
  EXPECT_EQ(formats.at(linears[0] + ":weight"), (passes::FixedPointFormat{5, 4}));
  EXPECT_EQ(formats.at(linears[1] + ":input"), (passes::FixedPointFormat{8, 7}));
  const passes::QuantizeConfig config = by_name_config(linears, formats);

  TempDir dir;
  write_file_atomically(dir / "mixed.toml", to_toml(config, "a comment\nof two lines"));
  const passes::QuantizeConfig read = passes::load_quantize_config(dir / "mixed.toml");
  EXPECT_EQ(read.by, passes::QuantizeSelection::name);
  EXPECT_FALSE(read.default_config.has_value());
  for (const std::string& linear : linears) {
    auto quantization = passes::quantization_for_layer(read, linear);
    ASSERT_TRUE(quantization.has_value()) << linear;
    EXPECT_EQ(quantization->data_in, formats.at(linear + ":input"));
    EXPECT_EQ(quantization->weight, formats.at(linear + ":weight"));
    EXPECT_EQ(quantization->bias, formats.at(linear + ":bias"));
  }
  EXPECT_EQ(mixed_formats_from_json(to_json(formats)), formats);
  const LinearBits bits = linear_bits(formats, {{linears[0] + ":weight", 100}, {linears[1] + ":bias", 2}});
  EXPECT_EQ(bits.bits, 5 * 100 + 8 * 2);
  EXPECT_DOUBLE_EQ(bits.average(), 516.0 / 102.0);
}

}  // namespace
}  // namespace whittle::experiments
