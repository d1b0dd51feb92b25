#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include "cli/commands.h"
#include "util/error.h"
#include "util/runtime.h"
#include "util/time_limit.h"

namespace {

// Failures other than usage errors and time limits end in this one line and exit code 1.
int report_error(const char* message) {
  std::cerr << "whittle: error: " << message << "\n";
  return 1;
}

// CLI11's own message spans two lines without the prefix every other error
// has; usage errors become one line too, pointing at the subcommand's help.
std::string usage_error_line(const CLI::App* app, const CLI::Error& error) {
  std::string help = "whittle";
  for (const CLI::App* subcommand : app->get_subcommands()) help += " " + subcommand->get_name();
  return "whittle: error: " + std::string(error.what()) + " (see `" + help + " --help`)\n";
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file size limit (ulimit -f) a write then fails with EFBIG, which
  // every write reports in one line naming the file, instead of the
  // process dying from SIGXFSZ without a word.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"whittle: compress BERT models (quantization, pruning) and measure what it costs and buys"};
  app.require_subcommand(1);
  app.failure_message(usage_error_line);
  int threads = 0;
  app.add_option("--threads", threads, "intra-op threads (default: all cores)");
  app.parse_complete_callback([&] { whittle::configure_runtime(threads); });
  namespace cli = whittle::cli;
  // --help lists the subcommands in this order.
  cli::RegisterCommand* const commands[] = {
      cli::register_tokenize_command,  cli::register_finetune_command, cli::register_eval_command,
      cli::register_quantize_command,  cli::register_export_command,   cli::register_prune_command,
      cli::register_sweep_command,     cli::register_search_command,   cli::register_pretrain_command, cli::register_eval_mlm_command,
      cli::register_lora_command,      cli::register_lab_command,      cli::register_compile_command,
      cli::register_run_command};
  for (cli::RegisterCommand* register_command : commands) register_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 checks for a subcommand before it reports unknown words.
    if (app.get_subcommands().empty() && !app.remaining().empty()) return app.exit(CLI::ExtrasError(app.remaining()));
    return app.exit(error);
  } catch (const whittle::TimeLimitReached& stopped) {
    std::cerr << "whittle: stopped: " << stopped.what() << "\n";
    return 75;
  } catch (const c10::Error& error) {
    return report_error(error.what_without_backtrace());
  } catch (const std::exception& error) {  // whittle::Error among them: its message is the whole line
    return report_error(error.what());
  }
  return 0;
}
