#include "cli/kill_harness.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace whittle::cli_testing {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

bool matches(KillMoment::Trigger trigger, WriteKind kind) {
  switch (trigger) {
    case KillMoment::Trigger::delay: return false;
    case KillMoment::Trigger::result_write: return kind == WriteKind::result;
    case KillMoment::Trigger::checkpoint_write: return kind == WriteKind::checkpoint;
    case KillMoment::Trigger::any_write: return true;
  }
  return false;
}

// Whether the child has ended, without reaping it: until it is reaped its
// pid cannot be reused, so the watch thread may still signal it safely.
bool has_exited(int pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

// The one kill armed at a time. The watch thread fires write triggers, the
// harness delays; `lock` guards every member.
struct ArmedKill {
  std::mutex lock;
  long pid = 0;  // 0: none armed
  bool launcher = false;  // then a process it started is killed
  long victim = 0;        // the process killed
  KillMoment moment;
  Clock::time_point deadline;
  int writes_seen = 0;
  bool fired = false;
  std::optional<CreatedTemporary> fired_on;
};

// The parent of `pid`, from /proc; 0 if it is gone.
long parent_of(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t name_end = text.rfind(')');  // the name may hold spaces
  if (name_end == std::string::npos) return 0;
  std::istringstream fields(text.substr(name_end + 1));
  std::string state;
  long parent = 0;
  fields >> state >> parent;
  return parent;
}

std::vector<long> children_of(long pid) {
  std::vector<long> children;
  std::error_code error;
  for (fs::directory_iterator it("/proc", error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const long child = std::stol(name);
    if (parent_of(child) == pid) children.push_back(child);
  }
  return children;
}

// Kills the armed process (or, for a launcher, `writer` or else one it
// started); false when a launcher has started none yet. Caller holds the lock.
bool fire(ArmedKill& armed, long writer) {
  long victim = armed.pid;
  if (armed.launcher && writer != 0) {
    victim = writer;
  } else if (armed.launcher) {
    std::vector<long> children = children_of(armed.pid);
    if (children.empty()) return false;
    victim = children.front();
  }
  ::kill(static_cast<pid_t>(victim), SIGKILL);
  armed.victim = victim;
  armed.fired = true;
  return true;
}

struct Slot {
  const KilledCommand* command = nullptr;
  StartedRun run;
  Clock::time_point started;
  bool finished = false;
};

std::string last_line(const std::string& text) {
  std::istringstream lines(text);
  std::string last;
  for (std::string line; std::getline(lines, line);) {
    // Progress bars redraw with carriage returns: the last redraw counts.
    if (auto cr = line.find_last_of('\r'); cr != std::string::npos) line = line.substr(cr + 1);
    if (!line.empty()) last = line;
  }
  return last.size() > 160 ? last.substr(0, 160) : last;
}

WriteKind kind_of_debris(const std::vector<fs::path>& debris) {
  WriteKind kind = WriteKind::other;
  for (const fs::path& path : debris) {
    std::error_code error;
    auto created = as_temporary(path, fs::is_directory(path, error));
    if (!created) continue;
    if (created->kind == WriteKind::checkpoint) return WriteKind::checkpoint;
    if (created->kind == WriteKind::result) kind = WriteKind::result;
  }
  return kind;
}

KillRecord record_kill(const Slot& slot, long victim, const KillMoment& moment,
                       const std::optional<CreatedTemporary>& fired_on, const RunResult& result,
                       const fs::path& watched) {
  KillRecord record;
  record.process = slot.command->name;
  record.moment = moment;
  record.seconds_alive = std::chrono::duration<double>(Clock::now() - slot.started).count();
  std::vector<fs::path> debris = temporaries_under(watched, victim);
  for (const fs::path& path : debris) record.debris.push_back(fs::relative(path, watched).string());
  if (fired_on) {
    record.writing = fs::relative(fired_on->path, watched).string();
    record.kind = fired_on->kind;
  }
  if (!debris.empty()) record.kind = kind_of_debris(debris);
  record.last_log_line = last_line(result.err);
  return record;
}

void stop_all(std::vector<Slot>& slots) {
  for (Slot& slot : slots) {
    if (slot.finished) continue;
    ::kill(slot.run.pid, SIGKILL);
    finish_run(slot.run);
    slot.finished = true;
  }
}

}  // namespace

std::string KillMoment::describe() const {
  switch (trigger) {
    case Trigger::delay: return "after " + std::to_string(delay.count()) + " ms";
    case Trigger::result_write: return "at result write #" + std::to_string(nth);
    case Trigger::checkpoint_write: return "at checkpoint write #" + std::to_string(nth);
    case Trigger::any_write: return "at write #" + std::to_string(nth);
  }
  return "?";
}

std::vector<KillMoment::Trigger> KillPlan::every_trigger() {
  return {KillMoment::Trigger::delay, KillMoment::Trigger::result_write, KillMoment::Trigger::checkpoint_write,
          KillMoment::Trigger::delay, KillMoment::Trigger::any_write};
}

KillMoment KillPlan::next() {
  if (drawn_ < static_cast<int>(fixed_.size())) return fixed_[static_cast<std::size_t>(drawn_++)];
  KillMoment moment;
  moment.trigger = triggers_[static_cast<std::size_t>(drawn_++) % triggers_.size()];
  moment.delay = std::chrono::milliseconds(
      std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(1, longest_delay_.count()))(random_));
  moment.nth = std::uniform_int_distribution<int>(1, moment.trigger == KillMoment::Trigger::result_write ? 3 : 6)(random_);
  return moment;
}

int KillPlan::pick(int count) { return std::uniform_int_distribution<int>(0, count - 1)(random_); }

std::string KillRecord::landed() const {
  const std::string write = std::string(kind == WriteKind::other ? "an " : "a ") + to_string(kind);
  if (!debris.empty()) return "during " + write;
  if (!writing.empty()) return "at the start of " + write;
  return last_log_line.empty() ? "at startup" : "between writes";
}

KillRunOutcome run_with_kills(const KillRunOptions& options, KillPlan& plan, const TempDir& work_dir) {
  fs::create_directories(options.watched);
  KillRunOutcome outcome;
  outcome.last_runs.resize(options.commands.size());
  const auto began = Clock::now();
  const auto give_up = began + options.timeout;
  ArmedKill armed;
  TemporaryWatch watch(options.watched, [&armed](const CreatedTemporary& created) {
    std::lock_guard<std::mutex> guard(armed.lock);
    if (armed.pid == 0 || armed.fired) return;
    const bool own = armed.launcher ? parent_of(created.writer_pid) == armed.pid : created.writer_pid == armed.pid;
    if (!own || !matches(armed.moment.trigger, created.kind) || ++armed.writes_seen < armed.moment.nth) return;
    fire(armed, armed.launcher ? created.writer_pid : 0);
    armed.fired_on = created;
  });

  std::vector<Slot> slots(options.commands.size());
  auto launch = [&](Slot& slot) {
    slot.run = start_program(slot.command->argv, work_dir, {.timeout = options.timeout, .name = slot.command->name});
    slot.started = Clock::now();
    ++outcome.starts;
  };
  for (std::size_t i = 0; i < slots.size(); ++i) {
    slots[i].command = &options.commands[i];
    launch(slots[i]);
  }
  while (true) {
    bool any_running = false;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      Slot& slot = slots[i];
      if (slot.finished) continue;
      any_running = true;
      if (!has_exited(slot.run.pid)) continue;
      bool was_armed = false, fired = false;
      long victim = 0;
      KillMoment moment;
      std::optional<CreatedTemporary> fired_on;
      {
        std::lock_guard<std::mutex> guard(armed.lock);
        if (armed.pid == slot.run.pid) {
          was_armed = true;
          fired = armed.fired;
          victim = armed.victim;
          moment = armed.moment;
          fired_on = armed.fired_on;
          armed.pid = 0;
        }
      }
      RunResult result = finish_run(slot.run);
      // A launcher reports the loss of one of its processes with an error.
      const bool killed = result.signal_number == SIGKILL || (slot.command->launcher && result.exit_code != 0);
      if (fired && killed) {
        outcome.kills.push_back(record_kill(slot, victim, moment, fired_on, result, options.watched));
        launch(slot);
      } else if (result.exit_code == 0) {
        slot.finished = true;
        outcome.finished_before_their_kill += was_armed ? 1 : 0;
        outcome.last_runs[i] = result;
      } else {
        outcome.failure = slot.command->name + " failed: " + result.describe();
        slot.finished = true;
        stop_all(slots);
        return outcome;
      }
    }
    if (!any_running) break;
    {
      std::lock_guard<std::mutex> guard(armed.lock);
      const auto now = Clock::now();
      if (armed.pid != 0 && !armed.fired && armed.moment.trigger == KillMoment::Trigger::delay && now >= armed.deadline) {
        fire(armed, 0);
      }
      if (armed.pid == 0 && static_cast<int>(outcome.kills.size()) < options.kills) {
        std::vector<Slot*> running;
        for (Slot& slot : slots) {
          if (!slot.finished && !has_exited(slot.run.pid)) running.push_back(&slot);
        }
        if (!running.empty()) {
          Slot& chosen = *running[static_cast<std::size_t>(plan.pick(static_cast<int>(running.size())))];
          armed.launcher = chosen.command->launcher;
          armed.pid = chosen.run.pid;
          armed.victim = 0;
          armed.writes_seen = 0;
          armed.fired = false;
          armed.fired_on.reset();
          armed.moment = plan.next();
          armed.deadline = now + armed.moment.delay;
        }
      }
    }
    if (Clock::now() > give_up) {
      outcome.failure = "the run did not finish within " + std::to_string(options.timeout.count()) + " s";
      stop_all(slots);
      return outcome;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  outcome.seconds = std::chrono::duration<double>(Clock::now() - began).count();
  return outcome;
}

uint64_t kill_plan_seed() {
  if (const char* seed = std::getenv("KILL_ANYWHERE_SEED")) return std::strtoull(seed, nullptr, 10);
  const auto seed = static_cast<uint64_t>(std::random_device()());
  std::cout << "kill plan seed " << seed << " (KILL_ANYWHERE_SEED=" << seed << " repeats it)\n";
  return seed;
}

int planned_kills(int default_kills) {
  if (const char* kills = std::getenv("KILL_ANYWHERE_KILLS")) return std::max(1, std::atoi(kills));
  return default_kills;
}

void report_kills(const std::string& test, const std::vector<KillRecord>& kills, int rounds, double seconds) {
  std::cout << test << ": " << summarize(kills) << "; " << rounds << " round" << (rounds == 1 ? "" : "s") << " in "
            << seconds << " s\n";
  for (const KillRecord& kill : kills) {
    std::cout << "  " << kill.process << " " << kill.moment.describe() << ", " << kill.seconds_alive << " s in: "
              << kill.landed() << (kill.writing.empty() ? "" : " (" + kill.writing + ")") << "; last line: "
              << kill.last_log_line << "\n";
  }
  const char* path = std::getenv("KILL_ANYWHERE_REPORT");
  if (path == nullptr) return;
  std::ofstream report(path, std::ios::app);
  for (const KillRecord& kill : kills) {
    report << nlohmann::json({{"test", test},
                              {"process", kill.process},
                              {"moment", kill.moment.describe()},
                              {"landed", kill.landed()},
                              {"writing", kill.writing},
                              {"debris", kill.debris},
                              {"seconds_alive", kill.seconds_alive},
                              {"last_log_line", kill.last_log_line}})
                  .dump()
           << "\n";
  }
  report << nlohmann::json({{"test", test}, {"kills", kills.size()}, {"rounds", rounds}, {"seconds", seconds}}).dump()
         << "\n";
}

std::string summarize(const std::vector<KillRecord>& kills) {
  std::map<std::string, int> by_place;
  for (const KillRecord& kill : kills) ++by_place[kill.landed()];
  std::string text = std::to_string(kills.size()) + " kills";
  const char* separator = ": ";
  for (const auto& [place, count] : by_place) {
    text += separator + std::to_string(count) + " " + place;
    separator = ", ";
  }
  return text;
}

}  // namespace whittle::cli_testing
