#pragma once
#include <string>
#include <vector>

namespace whittle {

// How a program run to its end ended, and what it printed (standard output
// and error together).
struct ProgramOutcome {
  int exit_code = -1;  // 127: it could not be started (not installed); -1: a signal ended it
  std::string output;
};

// Runs `argv` (argv[0] is looked up in PATH) and waits for it to end. The
// program is killed when the thread that started it ends, however it ends:
// a whittle killed while a child draws a figure leaves no child writing on
// into its folders after it. Throws whittle::Error when no process can be made.
ProgramOutcome run_program(const std::vector<std::string>& argv);

}  // namespace whittle
