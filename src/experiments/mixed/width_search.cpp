#include "experiments/mixed/width_search.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <iomanip>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include "util/progress.h"

namespace whittle::experiments {
namespace {

bool within(const MeasuredConfig& measured, double target) { return measured.accuracy >= target - 1e-12; }

// Measures and logs; tracks the smallest configuration within budget.
class SearchLog {
 public:
  SearchLog(const ChoiceMeasure& measure, double target, int64_t most, std::ostream& log)
      : measure_(measure), target_(target), log_(log), progress_("search", most, log) {}

  bool fits(const WidthChoice& choice, const std::string& step) {
    MeasuredConfig measured = measure_(choice);
    ++evaluations_;
    const bool fits = within(measured, target_);
    std::ostringstream line;
    line << step << ": " << std::fixed << std::setprecision(3) << measured.bits.average() << " bits/parameter, accuracy "
         << std::setprecision(4) << measured.accuracy << (fits ? " within budget" : " over budget");
    log_ << line.str() << "\n";
    progress_.advance(1);
    if (fits && (!best_ || measured.bits.bits < best_->measured.bits.bits ||
                 (measured.bits.bits == best_->measured.bits.bits && measured.accuracy > best_->measured.accuracy))) {
      best_ = WidthSearchOutcome{choice, measured, true, 0};
    }
    if (!widest_) widest_ = WidthSearchOutcome{choice, measured, fits, 0};
    return fits;
  }

  const std::optional<WidthSearchOutcome>& best() const { return best_; }

  WidthSearchOutcome outcome() {
    progress_.finish();
    WidthSearchOutcome result = best_ ? *best_ : *widest_;
    result.evaluations = evaluations_;
    return result;
  }

 private:
  const ChoiceMeasure& measure_;
  double target_;
  std::ostream& log_;
  Progress progress_;
  int64_t evaluations_ = 0;
  std::optional<WidthSearchOutcome> best_;
  std::optional<WidthSearchOutcome> widest_;
};

int64_t binary_search_evaluations(size_t path_length) {
  return 2 + static_cast<int64_t>(std::ceil(std::log2(static_cast<double>(std::max<size_t>(path_length, 2)))));
}

// The narrowest path index measured within budget, or -1.
int64_t narrowest_within(const std::vector<WidthChoice>& path, SearchLog& search) {
  int64_t low = 0, high = static_cast<int64_t>(path.size()) - 1;
  if (!search.fits(path.front(), "path 0")) return -1;
  if (high == 0 || search.fits(path[static_cast<size_t>(high)], "path " + std::to_string(high))) return high;
  while (high - low > 1) {
    const int64_t middle = (low + high) / 2;
    (search.fits(path[static_cast<size_t>(middle)], "path " + std::to_string(middle)) ? low : high) = middle;
  }
  return low;
}

void measure_front(const AllocationProblem& problem, const std::vector<WidthChoice>& path, int64_t points,
                   SearchLog& search) {
  if (points <= 0 || path.size() < 3) return;
  const double widest = static_cast<double>(total_bits(problem, path.front()));
  const double narrowest = static_cast<double>(total_bits(problem, path.back()));
  std::set<size_t> chosen;
  for (int64_t k = 1; k <= points; ++k) {
    const double goal = widest + (narrowest - widest) * static_cast<double>(k) / static_cast<double>(points + 1);
    size_t nearest = 0;
    for (size_t i = 1; i < path.size(); ++i) {
      if (std::abs(total_bits(problem, path[i]) - goal) < std::abs(total_bits(problem, path[nearest]) - goal)) nearest = i;
    }
    chosen.insert(nearest);
  }
  for (size_t index : chosen) search.fits(path[index], "front, path " + std::to_string(index));
}

WidthChoice with_moves(WidthChoice choice, const std::vector<WidthMove>& moves) {
  for (const WidthMove& move : moves) choice[move.key] = move.to;
  return choice;
}

// Steps not worth a measurement of their own: predicted free, or saving
// less than 1/200 of the bits (a bias, the classifier's weight).
constexpr int64_t kSmallStepShare = 200;

// Single one-width steps from `current`, each measured and kept when within
// budget. First the small steps all together (many tiny tensors would each
// cost a measurement for a few hundred bits); then the others one at a
// time, most bits saved first, since the greedy path already took the cheap
// ones and stopped where the next went over. A step that went over budget
// is not tried again; once the small steps together have, they are left.
void refine(const AllocationProblem& problem, WidthChoice current, int64_t evaluations, SearchLog& search) {
  std::set<std::pair<std::string, int64_t>> over_budget;
  bool small_steps_failed = false;
  while (evaluations > 0) {
    const int64_t bits = total_bits(problem, current);
    std::vector<WidthMove> small, large;
    for (const WidthMove& move : single_step_moves(problem, current)) {
      if (over_budget.contains({move.key, move.to})) continue;
      const bool is_small = move.added_damage <= 0.0 || move.bits_saved * kSmallStepShare < bits;
      (is_small ? small : large).push_back(move);
    }
    if (small.size() >= 2 && !small_steps_failed) {
      --evaluations;
      WidthChoice candidate = with_moves(current, small);
      if (search.fits(candidate, "refine: " + std::to_string(small.size()) + " small steps together")) {
        current = std::move(candidate);
      } else {
        small_steps_failed = true;
      }
      continue;
    }
    if (small.size() == 1 && !small_steps_failed) large.push_back(small.front());
    std::stable_sort(large.begin(), large.end(),
                     [](const WidthMove& a, const WidthMove& b) { return a.bits_saved > b.bits_saved; });
    bool moved = false;
    for (const WidthMove& move : large) {
      if (evaluations-- <= 0) return;
      WidthChoice candidate = with_moves(current, {move});
      const std::string step = "refine " + move.key + " " + std::to_string(move.from) + "→" + std::to_string(move.to);
      if (search.fits(candidate, step)) {
        current = std::move(candidate);
        moved = true;
        break;
      }
      over_budget.insert({move.key, move.to});
    }
    if (!moved) return;
  }
}

}  // namespace

nlohmann::json to_json(const MeasuredConfig& measured) {
  return {{"accuracy", measured.accuracy},
          {"loss", measured.loss},
          {"bits", measured.bits.bits},
          {"parameters", measured.bits.parameters},
          {"average_bits", measured.bits.average()},
          {"formats", to_json(measured.formats)}};
}

MeasuredConfig measured_config_from_json(const nlohmann::json& json) {
  MeasuredConfig measured;
  measured.accuracy = json.at("accuracy").get<double>();
  measured.loss = json.at("loss").get<double>();
  measured.bits.bits = json.at("bits").get<int64_t>();
  measured.bits.parameters = json.at("parameters").get<int64_t>();
  measured.formats = mixed_formats_from_json(json.at("formats"));
  return measured;
}

MeasuredConfig ConfigMeter::measure(const MixedFormats& formats) {
  ++requests_;
  const std::string key = "config/" + formats_digest(formats);
  if (auto stored = store_.get(key)) return measured_config_from_json(*stored);
  std::ostream quiet(nullptr);
  train::EvalResult result = evaluate_formats(pool_, formats, validation_, eval_, quiet);
  MeasuredConfig measured{formats, linear_bits(formats, pool_.parameter_counts()), result.accuracy, result.loss};
  store_.put(key, to_json(measured));
  return measured;
}

int64_t most_search_evaluations(const AllocationProblem& problem, const WidthSearchSettings& settings) {
  const size_t path_length = greedy_path(problem).size();
  return binary_search_evaluations(path_length) + std::max<int64_t>(settings.front_points, 0) +
         std::max<int64_t>(settings.refine_evaluations, 0);
}

WidthSearchOutcome search_widths(const AllocationProblem& problem, const ChoiceMeasure& measure,
                                 const WidthSearchSettings& settings, std::ostream& log) {
  const std::vector<WidthChoice> path = greedy_path(problem);
  log << "search: greedy path of " << path.size() << " configurations, from " << std::fixed << std::setprecision(2)
      << static_cast<double>(total_bits(problem, path.front())) / static_cast<double>(total_elements(problem))
      << " to " << static_cast<double>(total_bits(problem, path.back())) / static_cast<double>(total_elements(problem))
      << " bits/parameter; budget: validation accuracy >= " << std::setprecision(4) << settings.target_accuracy
      << "\n";
  log.unsetf(std::ios::floatfield);
  SearchLog search(measure, settings.target_accuracy, most_search_evaluations(problem, settings), log);
  narrowest_within(path, search);
  measure_front(problem, path, settings.front_points, search);
  if (search.best()) refine(problem, search.best()->choice, settings.refine_evaluations, search);
  return search.outcome();
}

}  // namespace whittle::experiments
