#pragma once
// Runs whittle commands and kills them with SIGKILL at chosen moments (after
// a random delay, or as they start a result or checkpoint write, told by
// the temporaries their atomic writes create), restarting each killed
// process at once, until the planned kills have landed and every process
// has finished by itself.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "cli/temporary_watch.h"

namespace whittle::cli_testing {

// When to kill a process.
struct KillMoment {
  enum class Trigger { delay, result_write, checkpoint_write, any_write };
  Trigger trigger = Trigger::delay;
  std::chrono::milliseconds delay{0};  // for Trigger::delay, from the process's start
  int nth = 1;                         // for writes: at the nth such write of the process
  std::string describe() const;
};

// Draws kill moments: `triggers` in turn, each with a random delay (up to
// `longest_delay`) or a random n (the 1st to 3rd result write, the 1st to
// 6th of other writes).
class KillPlan {
 public:
  static std::vector<KillMoment::Trigger> every_trigger();
  KillPlan(uint64_t seed, std::chrono::milliseconds longest_delay,
           std::vector<KillMoment::Trigger> triggers = every_trigger())
      : random_(seed), longest_delay_(longest_delay), triggers_(std::move(triggers)) {}
  // The moments to use first, in order, before the drawn ones.
  void begin_with(std::vector<KillMoment> moments) { fixed_ = std::move(moments); }
  KillMoment next();
  // One of `count` (> 0), for the process a kill is armed on.
  int pick(int count);

 private:
  std::mt19937_64 random_;
  std::chrono::milliseconds longest_delay_;
  std::vector<KillMoment::Trigger> triggers_;
  int drawn_ = 0;
  std::vector<KillMoment> fixed_;
};

// Where a kill landed.
struct KillRecord {
  std::string process;  // which of the commands (its name)
  KillMoment moment;
  double seconds_alive = 0.0;
  std::string writing;  // what the process had begun to write (a temporary), or empty
  WriteKind kind = WriteKind::other;
  std::vector<std::string> debris;  // temporaries it left, relative to the watched folder
  std::string last_log_line;        // what it was doing, from its stderr
  // "during a result write", "... a checkpoint write", "... an output
  // write" (its temporary was left), "at the start of a ... write" (the
  // kill was sent as it began, but no temporary was found after: the write
  // ended first, or a process sharing the folder had cleared it), "between
  // writes", or "at startup" (before the process logged anything).
  std::string landed() const;
};

struct KilledCommand {
  std::string name;
  std::vector<std::string> argv;  // argv[0]: the program's path
  // A launcher (mpirun): kills go to the processes it started, and it ends
  // with an error once one of them is killed.
  bool launcher = false;
};

struct KillRunOptions {
  std::vector<KilledCommand> commands;  // processes that share the work, run side by side
  std::filesystem::path watched;        // where their temporaries appear (created if missing)
  int kills = 1;
  std::chrono::seconds timeout{300};    // for the whole run
};

struct KillRunOutcome {
  std::vector<KillRecord> kills;
  int starts = 0;
  int finished_before_their_kill = 0;  // armed processes that ended first
  std::vector<RunResult> last_runs;    // each command's last, uninterrupted run
  std::string failure;                 // empty unless a process failed or the run timed out
  double seconds = 0.0;
};

// Starts every command, kills processes at the plan's moments (each kill
// armed on one running process, chosen at random), restarts each killed
// process, and returns once `options.kills` kills have landed and every
// process has exited by itself, or earlier when all exited first (the work
// was done) or one failed.
KillRunOutcome run_with_kills(const KillRunOptions& options, KillPlan& plan, const TempDir& work_dir);

// The seed of a test's kill plan: KILL_ANYWHERE_SEED, else drawn (and printed).
uint64_t kill_plan_seed();
// A test's kill count: KILL_ANYWHERE_KILLS, else `default_kills`.
int planned_kills(int default_kills);
// Prints where the kills landed and appends one JSON line per kill (and one
// for the test: kills, rounds, seconds) to the file KILL_ANYWHERE_REPORT
// names, if set. A round runs the work from an empty folder to the end.
void report_kills(const std::string& test, const std::vector<KillRecord>& kills, int rounds, double seconds);
// "12 kills: 4 result write, 3 checkpoint write, ..." for the test log.
std::string summarize(const std::vector<KillRecord>& kills);

}  // namespace whittle::cli_testing
