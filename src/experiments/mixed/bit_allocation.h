#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace whittle::experiments {

// Widths of the stored tensors (weights and biases), by target key.
using WidthChoice = std::map<std::string, int64_t>;

// What a bit allocation trades: each tensor's size against the loss its
// rounding is predicted to add, from the sensitivity table.
struct AllocationProblem {
  std::map<std::string, int64_t> counts;  // elements of each tensor
  std::vector<int64_t> widths;            // the candidate widths, ascending
  // Predicted loss increase of each tensor at each width, every tensor
  // rounded alone; see monotone_damage.
  std::map<std::string, std::map<int64_t, double>> damage;
};

// Measured loss increases made usable for allocation: negative ones (noise,
// or a lucky rounding) count as none, and a width never counts as better
// than a wider one: damage(w) = max over w' >= w of max(0, measured(w')).
std::map<int64_t, double> monotone_damage(const std::map<int64_t, double>& measured);

// Every tensor at the widest candidate.
WidthChoice widest_choice(const AllocationProblem& problem);

int64_t total_bits(const AllocationProblem& problem, const WidthChoice& choice);
int64_t total_elements(const AllocationProblem& problem);

// Summed predicted damage of the choice (the tensors' damages taken as
// additive, the assumption the allocation starts from).
double predicted_damage(const AllocationProblem& problem, const WidthChoice& choice);

// One tensor moved to a narrower width, and what that is predicted to cost
// per bit saved.
struct WidthMove {
  std::string key;
  int64_t from = 0;
  int64_t to = 0;
  int64_t bits_saved = 0;
  double added_damage = 0.0;
  double damage_per_bit() const { return added_damage / static_cast<double>(bits_saved); }
};

// The moves open from `choice`: each tensor to each narrower candidate. Sorted
// cheapest first (least damage per bit saved; of equal cost, most bits saved,
// then by key), the order of a greedy knapsack.
std::vector<WidthMove> narrowing_moves(const AllocationProblem& problem, const WidthChoice& choice);
// The same, but each tensor only one candidate narrower.
std::vector<WidthMove> single_step_moves(const AllocationProblem& problem, const WidthChoice& choice);

// The greedy knapsack's path: from the widest choice, take the cheapest move
// (narrowing_moves' first) until every tensor is at the narrowest candidate.
// Entry 0 is the widest choice; bits fall strictly along the path, so each
// entry is the greedy's best guess at its size.
std::vector<WidthChoice> greedy_path(const AllocationProblem& problem);

}  // namespace whittle::experiments
