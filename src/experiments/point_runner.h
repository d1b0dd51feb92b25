#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/result_store.h"
#include "util/launcher.h"

namespace whittle::experiments {

// One measurement of a sweep: its key in the result store, and how to run
// it. `run` writes its progress to the stream it is given. `work` is its
// expected cost relative to the sweep's other points (see SweepSetup's
// work estimates), from which a time limit tells whether it can finish.
struct SweepPoint {
  std::string key;
  std::function<nlohmann::json(std::ostream& log)> run;
  double work = 1.0;
  // Files and folders the point writes besides its result (a saved model).
  // Once this process has claimed the point, no other may be writing them,
  // so their temporaries are removed whoever left them: a process killed
  // on another machine that shares the directory among them.
  std::vector<std::filesystem::path> outputs = {};
};

// When a point started (Unix seconds, comparable between processes and
// machines) and how long it ran, stored beside its value in the result store.
struct PointTiming {
  double started_unix = 0.0;
  double wall_seconds = 0.0;
};
nlohmann::json to_json(const PointTiming& timing);
// The timing of one entry of a result store's "points"; none for points
// stored without one.
std::optional<PointTiming> point_timing(const nlohmann::json& point_entry);
// Seconds during which at least one of the points was running: points run
// side by side count once.
double busy_seconds(std::vector<PointTiming> timings);

struct PointRunnerOptions {
  // Points run at the same time, each on its own thread with an equal share
  // of the intra-op threads (at least one). On a small machine two 1-thread
  // points get more done than one 2-thread point: BERT-Tiny's operations are
  // too small to keep two threads busy.
  int workers = 1;
  // Called after every stored point, one call at a time (e.g. to redraw figures).
  std::function<void()> after_each;
  // No point starts that would not finish by then, going by the slowest
  // rate (seconds per unit of work) of the points finished in this call;
  // before one has finished, points start until the deadline has passed.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // This process's place among the processes that share the store (see
  // run_sweep_points).
  ProcessPlace shard;
  // Whether to wait, once no point is left to claim, until the points that
  // other processes claimed are stored, taking over any whose process ended
  // without storing it. A pipeline whose next stage needs every point sets it.
  bool wait_for_others = false;
  std::chrono::milliseconds poll_interval{2000};
};

// Runs the points that `store` does not hold yet, claiming each just
// before it starts, since other processes may share the store: first this
// shard's own (every shard.count-th point, from shard.index), then any that
// no process has claimed, so that the work spreads however the processes
// start and end. Points claimed elsewhere are left to their process (or
// waited for, see wait_for_others). Each result is stored as soon as its
// point ends. With several workers each
// point's log lines carry its key. If a point throws, no new point starts,
// the running ones finish and are stored, and the first error is rethrown.
// When the deadline keeps points from starting, the running ones finish and
// are stored, then whittle::TimeLimitReached says how many are left.
// Returns how many points this call ran.
int64_t run_sweep_points(ResultStore& store, const std::vector<SweepPoint>& points, const PointRunnerOptions& options,
                         const std::string& label, std::ostream& log);

// The keys of `points` that `store` does not hold (rereading it first).
std::vector<std::string> missing_points(ResultStore& store, const std::vector<SweepPoint>& points);

}  // namespace whittle::experiments
