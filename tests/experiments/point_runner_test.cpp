#include "experiments/point_runner.h"

#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "support/temp_dir.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/time_limit.h"

namespace whittle::experiments {
namespace {

using test_support::TempDir;

// Points that log a few lines and record how many ran at once and on how many threads.
struct Recorder {
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  std::atomic<int> threads_seen{0};

  SweepPoint point(const std::string& key, int value) {
    return {key, [this, key, value](std::ostream& log) -> nlohmann::json {
              int now = ++running;
              int seen = most_running.load();
              while (now > seen && !most_running.compare_exchange_weak(seen, now)) {
              }
              threads_seen = at::get_num_threads();
              for (int line = 0; line < 3; ++line) {
                log << "line " << line << " of " << key << "\n";
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
              }
              --running;
              return {{"value", value}};
            }};
  }
};

TEST(SweepPoints, TwoWorkersRunEveryPointOnceWithWholePrefixedLines) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  store.put("b", {{"value", -1}});  // finished earlier: not run again
  Recorder recorder;
  std::vector<SweepPoint> points;
  for (int i = 0; i < 5; ++i) points.push_back(recorder.point(std::string(1, static_cast<char>('a' + i)), i));
  std::ostringstream log;
  int redraws = 0;
  const int threads_before = at::get_num_threads();
  at::set_num_threads(2);
  int64_t ran = run_sweep_points(store, points, {2, [&] { ++redraws; }}, "test sweep", log);
  EXPECT_EQ(at::get_num_threads(), 2) << "the caller's thread count is restored";
  at::set_num_threads(threads_before);

  EXPECT_EQ(ran, 4);
  EXPECT_EQ(redraws, 4);
  EXPECT_EQ(recorder.most_running.load(), 2);
  EXPECT_EQ(recorder.threads_seen.load(), 1) << "each of two workers gets one of the two threads";
  EXPECT_EQ(store.get("b")->at("value"), -1);
  for (int i : {0, 2, 3, 4}) EXPECT_EQ(store.get(std::string(1, static_cast<char>('a' + i)))->at("value"), i);

  std::istringstream lines(log.str());
  int point_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("line ") == std::string::npos) continue;
    ++point_lines;
    // "[c] line 1 of c": the prefix names the point that wrote the line.
    ASSERT_GE(line.size(), 4u) << line;
    EXPECT_EQ(line.substr(0, 4), "[" + line.substr(line.size() - 1) + "] ") << line;
  }
  EXPECT_EQ(point_lines, 12);
  EXPECT_NE(log.str().find("== a\n"), std::string::npos);
  EXPECT_EQ(log.str().find("== b\n"), std::string::npos);
}

TEST(SweepPoints, EachStoredPointCarriesWhenAndHowLongItRan) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  Recorder recorder;
  std::vector<SweepPoint> points{recorder.point("a", 1), recorder.point("b", 2)};
  std::ostringstream log;
  const double before = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  run_sweep_points(store, points, {1, nullptr}, "test sweep", log);
  nlohmann::json document = nlohmann::json::parse(read_file(dir / "results.json"));
  std::vector<PointTiming> timings;
  for (const auto& entry : document.at("points")) {
    auto timing = point_timing(entry);
    ASSERT_TRUE(timing) << entry.dump();
    EXPECT_GE(timing->started_unix, before - 1.0);
    EXPECT_GE(timing->wall_seconds, 0.055) << "each point sleeps 3 x 20 ms";
    EXPECT_EQ(entry.at("value").at("value"), entry.at("key") == "a" ? 1 : 2) << "the value stays the point's own";
    timings.push_back(*timing);
  }
  ASSERT_EQ(timings.size(), 2u);
  EXPECT_GE(busy_seconds(timings), timings[0].wall_seconds + timings[1].wall_seconds - 1e-3)
      << "one worker: the points ran one after the other (system and steady clocks agree to a millisecond)";
}

TEST(SweepPoints, BusySecondsCountPointsRunSideBySideOnce) {
  EXPECT_EQ(busy_seconds({}), 0.0);
  EXPECT_DOUBLE_EQ(busy_seconds({{100.0, 10.0}}), 10.0);
  // Overlapping, nested, touching and separate spans, given out of order.
  EXPECT_DOUBLE_EQ(busy_seconds({{105.0, 10.0}, {100.0, 10.0}, {106.0, 2.0}, {115.0, 5.0}, {200.0, 1.0}}), 21.0);
  EXPECT_FALSE(point_timing(nlohmann::json{{"key", "a"}, {"value", 1}}));
}

// Points that sleep `milliseconds` each, of one unit of work.
std::vector<SweepPoint> sleeping_points(int count, int milliseconds) {
  std::vector<SweepPoint> points;
  for (int i = 0; i < count; ++i) {
    points.push_back({"p" + std::to_string(i), [milliseconds, i](std::ostream&) -> nlohmann::json {
                        std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
                        return {{"value", i}};
                      }});
  }
  return points;
}

TEST(SweepPoints, NoPointStartsThatWouldNotFinishBeforeTheDeadline) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  std::ostringstream log;
  // 200 ms points, 500 ms: the first two fit (the second is judged by the
  // first's time), a third would end at about 600 ms.
  PointRunnerOptions options{1, nullptr, std::chrono::steady_clock::now() + std::chrono::milliseconds(500)};
  try {
    run_sweep_points(store, sleeping_points(4, 200), options, "test sweep", log);
    FAIL() << "expected the time limit to stop the sweep";
  } catch (const TimeLimitReached& stopped) {
    EXPECT_NE(std::string(stopped.what()).find("2 points"), std::string::npos) << stopped.what();
  }
  EXPECT_TRUE(store.has("p0"));
  EXPECT_TRUE(store.has("p1"));
  EXPECT_FALSE(store.has("p2")) << "would have ended after the deadline";

  // Rerun without a limit: only what is left runs.
  EXPECT_EQ(run_sweep_points(store, sleeping_points(4, 1), {1, nullptr}, "test sweep", log), 2);
}

TEST(SweepPoints, APassedDeadlineStartsNothing) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  std::ostringstream log;
  PointRunnerOptions options{2, nullptr, std::chrono::steady_clock::now()};
  EXPECT_THROW(run_sweep_points(store, sleeping_points(2, 1), options, "test sweep", log), TimeLimitReached);
  EXPECT_TRUE(store.points().empty());
}

TEST(SweepPoints, AFailingPointStopsNewPointsKeepsFinishedOnesAndRethrows) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  Recorder recorder;
  std::vector<SweepPoint> points = {recorder.point("a", 0),
                                    {"bad", [](std::ostream&) -> nlohmann::json { throw Error("point bad failed"); }},
                                    recorder.point("c", 2), recorder.point("d", 3), recorder.point("e", 4)};
  std::ostringstream log;
  EXPECT_THROW(run_sweep_points(store, points, {2, {}}, "test sweep", log), Error);
  EXPECT_TRUE(store.has("a")) << "a started with bad and finished";
  EXPECT_FALSE(store.has("bad"));
  EXPECT_FALSE(store.has("e")) << "no point starts after a failure is seen";
}

TEST(SweepPoints, OneWorkerRunsInOrderOnTheCallersStream) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  Recorder recorder;
  std::vector<SweepPoint> points = {recorder.point("a", 0), recorder.point("b", 1)};
  std::ostringstream log;
  EXPECT_EQ(run_sweep_points(store, points, {1, {}}, "test sweep", log), 2);
  EXPECT_EQ(recorder.most_running.load(), 1);
  EXPECT_NE(log.str().find("== a\nline 0 of a\n"), std::string::npos) << log.str();
  EXPECT_THROW(run_sweep_points(store, points, {0, {}}, "test sweep", log), Error);
}

PointRunnerOptions sharded(int index, int count) {
  PointRunnerOptions options;
  options.shard = {index, count, "test"};
  return options;
}

// The order in which points started, from the "== key" lines.
std::vector<std::string> started(const std::string& log) {
  std::vector<std::string> keys;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("== ", 0) == 0) keys.push_back(line.substr(3));
  }
  return keys;
}

TEST(SweepPoints, AShardRunsItsOwnPointsFirstThenTheRest) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  Recorder recorder;
  std::vector<SweepPoint> points;
  for (int i = 0; i < 5; ++i) points.push_back(recorder.point("p" + std::to_string(i), i));
  std::ostringstream log;
  EXPECT_EQ(run_sweep_points(store, points, sharded(1, 2), "test sweep", log), 5);
  EXPECT_EQ(started(log.str()), (std::vector<std::string>{"p1", "p3", "p0", "p2", "p4"}));
}

TEST(SweepPoints, APointClaimedElsewhereIsLeftOrWaitedForAndTakenOver) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  Recorder recorder;
  std::vector<SweepPoint> points = {recorder.point("a", 0), recorder.point("b", 1)};
  std::optional<FileLock> other_process = store.claim("b");
  ASSERT_TRUE(other_process.has_value());
  std::ostringstream log;
  EXPECT_EQ(run_sweep_points(store, points, sharded(0, 2), "test sweep", log), 1);
  EXPECT_EQ(missing_points(store, points), std::vector<std::string>{"b"});

  // Waiting: the claim's holder ends without storing b, so b is taken over.
  PointRunnerOptions waiting = sharded(0, 2);
  waiting.wait_for_others = true;
  waiting.poll_interval = std::chrono::milliseconds(10);
  std::thread holder([&other_process] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    other_process.reset();
  });
  EXPECT_EQ(run_sweep_points(store, points, waiting, "test sweep", log), 1);
  holder.join();
  EXPECT_TRUE(missing_points(store, points).empty());
}

TEST(SweepPoints, OutputsAreWrittenOncePerSetOfPoints) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  store.put("a", {{"value", 1}});
  int writes = 0;
  EXPECT_TRUE(store.write_outputs_once([&] { ++writes; }));
  EXPECT_FALSE(store.write_outputs_once([&] { ++writes; }));
  ResultStore::open_existing(dir / "results.json").put("b", {{"value", 2}});  // another process adds a point
  EXPECT_TRUE(store.write_outputs_once([&] { ++writes; }));
  EXPECT_EQ(writes, 2);
}


TEST(SweepPoints, AClaimedPointsOutputsLoseWhatOtherWritersLeft) {
  TempDir dir;
  ResultStore store(dir / "results.json", {{"sweep", "test"}});
  // Left by a process on another machine sharing the folder: its pid says
  // nothing here, but the claim on the point says it has ended.
  const std::filesystem::path left = dir / "models" / "qat-w4.tmp-another-machine-12-34";
  std::filesystem::create_directories(left);
  Recorder recorder;
  SweepPoint point = recorder.point("qat/w4", 1);
  point.outputs = {dir / "models" / "qat-w4"};
  std::ostringstream log;
  EXPECT_EQ(run_sweep_points(store, {point}, {}, "test sweep", log), 1);
  EXPECT_FALSE(std::filesystem::exists(left));
}

}  // namespace
}  // namespace whittle::experiments
