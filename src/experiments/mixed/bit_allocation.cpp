#include "experiments/mixed/bit_allocation.h"

#include <algorithm>

#include "util/error.h"

namespace whittle::experiments {
namespace {

double damage_at(const AllocationProblem& problem, const std::string& key, int64_t width) {
  auto tensor = problem.damage.find(key);
  if (tensor == problem.damage.end()) throw Error("the bit allocation has no damage for " + key);
  auto at = tensor->second.find(width);
  if (at == tensor->second.end()) {
    throw Error("the bit allocation has no damage for " + key + " at " + std::to_string(width) + " bits");
  }
  return at->second;
}

WidthMove make_move(const AllocationProblem& problem, const std::string& key, int64_t from, int64_t to) {
  const int64_t count = problem.counts.at(key);
  return {key, from, to, (from - to) * count, damage_at(problem, key, to) - damage_at(problem, key, from)};
}

void sort_cheapest_first(std::vector<WidthMove>& moves) {
  std::sort(moves.begin(), moves.end(), [](const WidthMove& a, const WidthMove& b) {
    // a.damage / a.bits < b.damage / b.bits, without dividing
    const double left = a.added_damage * static_cast<double>(b.bits_saved);
    const double right = b.added_damage * static_cast<double>(a.bits_saved);
    if (left != right) return left < right;
    if (a.bits_saved != b.bits_saved) return a.bits_saved > b.bits_saved;
    if (a.key != b.key) return a.key < b.key;
    return a.to > b.to;
  });
}

}  // namespace

std::map<int64_t, double> monotone_damage(const std::map<int64_t, double>& measured) {
  std::map<int64_t, double> damage;
  double floor = 0.0;
  for (auto it = measured.rbegin(); it != measured.rend(); ++it) {
    floor = std::max(floor, it->second);
    damage[it->first] = floor;
  }
  return damage;
}

WidthChoice widest_choice(const AllocationProblem& problem) {
  if (problem.widths.empty()) throw Error("the bit allocation needs at least one candidate width");
  WidthChoice choice;
  for (const auto& [key, count] : problem.counts) choice[key] = problem.widths.back();
  return choice;
}

int64_t total_bits(const AllocationProblem& problem, const WidthChoice& choice) {
  int64_t bits = 0;
  for (const auto& [key, count] : problem.counts) bits += count * choice.at(key);
  return bits;
}

int64_t total_elements(const AllocationProblem& problem) {
  int64_t elements = 0;
  for (const auto& [key, count] : problem.counts) elements += count;
  return elements;
}

double predicted_damage(const AllocationProblem& problem, const WidthChoice& choice) {
  double damage = 0.0;
  for (const auto& [key, width] : choice) damage += damage_at(problem, key, width);
  return damage;
}

std::vector<WidthMove> narrowing_moves(const AllocationProblem& problem, const WidthChoice& choice) {
  std::vector<WidthMove> moves;
  for (const auto& [key, width] : choice) {
    for (int64_t candidate : problem.widths) {
      if (candidate < width) moves.push_back(make_move(problem, key, width, candidate));
    }
  }
  sort_cheapest_first(moves);
  return moves;
}

std::vector<WidthMove> single_step_moves(const AllocationProblem& problem, const WidthChoice& choice) {
  std::vector<WidthMove> moves;
  for (const auto& [key, width] : choice) {
    auto at = std::lower_bound(problem.widths.begin(), problem.widths.end(), width);
    if (at != problem.widths.begin()) moves.push_back(make_move(problem, key, width, *std::prev(at)));
  }
  sort_cheapest_first(moves);
  return moves;
}

std::vector<WidthChoice> greedy_path(const AllocationProblem& problem) {
  std::vector<WidthChoice> path = {widest_choice(problem)};
  while (true) {
    std::vector<WidthMove> moves = narrowing_moves(problem, path.back());
    if (moves.empty()) break;
    WidthChoice next = path.back();
    next[moves.front().key] = moves.front().to;
    path.push_back(std::move(next));
  }
  return path;
}

}  // namespace whittle::experiments
