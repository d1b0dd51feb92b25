#include "util/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace whittle {

ProgramOutcome run_program(const std::vector<std::string>& argv) {
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<std::string> arguments = argv;
  std::vector<char*> pointers;
  for (std::string& argument : arguments) pointers.push_back(argument.data());
  pointers.push_back(nullptr);
  int output_pipe[2];
  if (::pipe2(output_pipe, O_CLOEXEC) != 0) throw Error(std::string("cannot run ") + argv.at(0) + ": " + std::strerror(errno));
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    const int error = errno;
    ::close(output_pipe[0]);
    ::close(output_pipe[1]);
    throw Error(std::string("cannot run ") + argv.at(0) + ": " + std::strerror(error));
  }
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before the line above
    ::dup2(output_pipe[1], STDOUT_FILENO);
    ::dup2(output_pipe[1], STDERR_FILENO);
    ::execvp(pointers[0], pointers.data());
    ::_exit(127);
  }
  ::close(output_pipe[1]);
  ProgramOutcome outcome;
  char buffer[512];
  while (true) {
    const ssize_t got = ::read(output_pipe[0], buffer, sizeof buffer);
    if (got > 0) {
      outcome.output.append(buffer, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(output_pipe[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  return outcome;
}

}  // namespace whittle
