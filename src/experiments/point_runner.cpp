#include "experiments/point_runner.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <limits>
#include <mutex>
#include <ostream>
#include <thread>

#include "util/error.h"
#include "util/line_prefix_stream.h"
#include "util/progress.h"
#include "util/temporaries.h"
#include "util/time_limit.h"

namespace whittle::experiments {
namespace {

class PointClock {
 public:
  PointTiming timing() const {
    std::chrono::duration<double> wall = std::chrono::steady_clock::now() - steady_start_;
    std::chrono::duration<double> since_epoch = system_start_.time_since_epoch();
    return {since_epoch.count(), wall.count()};
  }

 private:
  std::chrono::system_clock::time_point system_start_ = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point steady_start_ = std::chrono::steady_clock::now();
};

// A point this process runs, and its claim, held until the result is stored.
struct ClaimedPoint {
  const SweepPoint* point;
  FileLock claim;
};

// This shard's points first, then the others, each group in sweep order.
std::vector<const SweepPoint*> shard_order(const std::vector<const SweepPoint*>& pending, const ProcessPlace& shard) {
  std::vector<const SweepPoint*> own, others;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    (static_cast<int>(i % static_cast<std::size_t>(shard.count)) == shard.index ? own : others).push_back(pending[i]);
  }
  own.insert(own.end(), others.begin(), others.end());
  return own;
}

// What the workers share; `lock` guards every member and the log.
class PointQueue {
 public:
  PointQueue(ResultStore& store, std::vector<const SweepPoint*> pending, const PointRunnerOptions& options,
             const std::string& label, std::ostream& log)
      : store_(store),
        pending_(shard_order(pending, options.shard)),
        state_(pending_.size(), State::open),
        options_(options),
        log_(log),
        progress_(label, static_cast<int64_t>(pending_.size()), log) {}

  // Runs points until none is left to claim or one has failed.
  void work(bool prefix_lines) {
    while (std::optional<ClaimedPoint> taken = take()) {
      const SweepPoint& point = *taken->point;
      try {
        PointClock clock;
        nlohmann::json result;
        if (prefix_lines) {
          LinePrefixStream point_log(log_, lock_, "[" + point.key + "] ");
          result = point.run(point_log);
        } else {
          result = point.run(log_);
        }
        store(point, std::move(result), clock.timing());
      } catch (...) {
        std::lock_guard<std::mutex> guard(lock_);
        if (!error_) error_ = std::current_exception();
        return;
      }
    }
  }

  int64_t finish() {
    if (error_) std::rethrow_exception(error_);
    if (stopped_at_deadline_) {
      std::size_t left = std::count(state_.begin(), state_.end(), State::open);
      throw TimeLimitReached(std::to_string(left) + " point" + (left == 1 ? "" : "s") +
                             " of the sweep would not finish within the time limit (" + std::to_string(ran_) +
                             " finished and saved); run the same command again to resume");
    }
    progress_.finish();
    return ran_;
  }

 private:
  enum class State { open, running_here, stored };

  std::optional<ClaimedPoint> take() {
    std::unique_lock<std::mutex> guard(lock_);
    while (!error_ && !stopped_at_deadline_) {
      bool claimed_elsewhere = false;
      store_.refresh();
      for (std::size_t i = 0; i < pending_.size(); ++i) {
        if (state_[i] != State::open || mark_if_stored(i)) continue;
        std::optional<FileLock> claim = store_.claim(pending_[i]->key);
        if (!claim) {
          claimed_elsewhere = true;
          continue;
        }
        store_.refresh();  // its process may have stored it and ended since the last look
        if (mark_if_stored(i)) continue;
        if (!finishes_in_time(*pending_[i])) {
          stopped_at_deadline_ = true;
          return std::nullopt;
        }
        state_[i] = State::running_here;
        for (const auto& output : pending_[i]->outputs) {
          remove_stale_temporaries_of(output, TemporaryOwners::all_but_this_one);
        }
        log_ << "== " << pending_[i]->key << "\n" << std::flush;
        return ClaimedPoint{pending_[i], std::move(*claim)};
      }
      if (!claimed_elsewhere || !options_.wait_for_others) return std::nullopt;
      if (options_.deadline && std::chrono::steady_clock::now() >= *options_.deadline) {
        stopped_at_deadline_ = true;
        return std::nullopt;
      }
      guard.unlock();
      std::this_thread::sleep_for(options_.poll_interval);
      guard.lock();
    }
    return std::nullopt;
  }

  // Whether pending point `i` is in the store (run by another process); caller holds the lock.
  bool mark_if_stored(std::size_t i) {
    if (!store_.has(pending_[i]->key)) return false;
    state_[i] = State::stored;
    progress_.advance(1);
    return true;
  }

  // Whether `point` is expected to end before the deadline; caller holds the lock.
  bool finishes_in_time(const SweepPoint& point) const {
    if (!options_.deadline) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= *options_.deadline) return false;
    if (!seconds_per_work_) return true;
    std::chrono::duration<double> expected(*seconds_per_work_ * point.work);
    return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(expected) <= *options_.deadline;
  }

  void store(const SweepPoint& point, nlohmann::json result, const PointTiming& timing) {
    std::lock_guard<std::mutex> guard(lock_);
    if (point.work > 0.0) {
      double rate = timing.wall_seconds / point.work;
      seconds_per_work_ = std::max(seconds_per_work_.value_or(0.0), rate);
    }
    store_.put(point.key, std::move(result), to_json(timing));
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      if (pending_[i] == &point) state_[i] = State::stored;
    }
    ++ran_;
    if (options_.after_each) options_.after_each();
    progress_.advance(1);
  }

  ResultStore& store_;
  std::vector<const SweepPoint*> pending_;
  std::vector<State> state_;  // one per pending point
  const PointRunnerOptions& options_;
  std::ostream& log_;
  Progress progress_;
  std::mutex lock_;
  int64_t ran_ = 0;
  std::exception_ptr error_;
  std::optional<double> seconds_per_work_;  // the slowest of the points finished so far
  bool stopped_at_deadline_ = false;
};

}  // namespace

nlohmann::json to_json(const PointTiming& timing) {
  return {{"started_unix", timing.started_unix}, {"wall_seconds", timing.wall_seconds}};
}

std::optional<PointTiming> point_timing(const nlohmann::json& point_entry) {
  if (!point_entry.contains("timing")) return std::nullopt;
  const nlohmann::json& timing = point_entry.at("timing");
  return PointTiming{timing.at("started_unix").get<double>(), timing.at("wall_seconds").get<double>()};
}

double busy_seconds(std::vector<PointTiming> timings) {
  std::sort(timings.begin(), timings.end(),
            [](const PointTiming& a, const PointTiming& b) { return a.started_unix < b.started_unix; });
  double covered = 0.0;
  double reached = -std::numeric_limits<double>::infinity();
  for (const auto& timing : timings) {
    double end = timing.started_unix + timing.wall_seconds;
    if (end <= reached) continue;
    covered += end - std::max(timing.started_unix, reached);
    reached = end;
  }
  return covered;
}

std::vector<std::string> missing_points(ResultStore& store, const std::vector<SweepPoint>& points) {
  store.refresh();
  std::vector<std::string> missing;
  for (const auto& point : points) {
    if (!store.has(point.key)) missing.push_back(point.key);
  }
  return missing;
}

int64_t run_sweep_points(ResultStore& store, const std::vector<SweepPoint>& points, const PointRunnerOptions& options,
                         const std::string& label, std::ostream& log) {
  if (options.workers < 1) throw Error("workers must be at least 1, got " + std::to_string(options.workers));
  if (options.shard.count > 1) {
    log << label << ": shard " << options.shard.index << " of " << options.shard.count << " (" << options.shard.source
        << "); points claimed by other processes are left to them\n";
  }
  std::vector<const SweepPoint*> pending;
  for (const auto& point : points) {
    if (!store.has(point.key)) pending.push_back(&point);
  }
  PointQueue queue(store, pending, options, label, log);
  const int workers = std::min<int>(options.workers, static_cast<int>(std::max<std::size_t>(pending.size(), 1)));
  if (workers == 1) {
    queue.work(/*prefix_lines=*/false);
    return queue.finish();
  }
  // Each thread sets its own OpenMP team size; the process-wide setting is
  // restored afterwards, since at::set_num_threads also records it globally.
  const int threads = at::get_num_threads();
  const int threads_per_worker = std::max(1, threads / workers);
  log << label << ": " << workers << " points at a time, " << threads_per_worker << " thread"
      << (threads_per_worker == 1 ? "" : "s") << " each\n";
  std::vector<std::thread> team;
  for (int w = 0; w < workers; ++w) {
    team.emplace_back([&queue, threads_per_worker] {
      at::set_num_threads(threads_per_worker);
      queue.work(/*prefix_lines=*/true);
    });
  }
  for (auto& thread : team) thread.join();
  at::set_num_threads(threads);
  return queue.finish();
}

}  // namespace whittle::experiments
