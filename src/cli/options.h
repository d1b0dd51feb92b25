#pragma once
#include <memory>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

namespace whittle::cli {

// Adds the subcommand `name`, carried out by `run` and summed up in --help
// by `description`, and returns it with the Arguments its flags are to fill.
// CLI11 writes into the Arguments while parsing, after this returns, so the
// callback owns them; once parsing is done it hands them to `run`.
template <typename Arguments, typename Run>
std::pair<CLI::App*, Arguments*> add_command(CLI::App& parent, const std::string& name, Run run,
                                             const std::string& description) {
  auto arguments = std::make_shared<Arguments>();
  CLI::App* command = parent.add_subcommand(name, description);
  command->callback([arguments, run] { run(*arguments); });
  return {command, arguments.get()};
}

// --from DIR, the checkpoint a command works on, required. (finetune and
// pretrain can start without one and declare their own.)
void add_from_option(CLI::App& command, std::string& from, const std::string& description);

// --out PATH, where a command writes what it makes, required. (lab has a
// default run directory and declares its own.)
void add_out_option(CLI::App& command, std::string& out, const std::string& description);

}  // namespace whittle::cli
