#include <iostream>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include "cli/commands.h"
#include "util/error.h"
#include "util/runtime.h"
#include "util/time_limit.h"

int main(int argc, char** argv) {
  CLI::App app{"whittle: compress BERT models (quantization, pruning) and measure what it costs and buys"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "intra-op threads (default: all cores)");
  app.parse_complete_callback([&] { whittle::configure_runtime(threads); });
  whittle::cli::register_tokenize_command(app);
  whittle::cli::register_finetune_command(app);
  whittle::cli::register_eval_command(app);
  whittle::cli::register_quantize_command(app);
  whittle::cli::register_export_command(app);
  whittle::cli::register_prune_command(app);
  whittle::cli::register_sweep_command(app);
  whittle::cli::register_pretrain_command(app);
  whittle::cli::register_eval_mlm_command(app);
  whittle::cli::register_lora_command(app);
  whittle::cli::register_lab_command(app);
  whittle::cli::register_compile_command(app);
  whittle::cli::register_run_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 checks for a subcommand before it reports unknown words.
    if (app.get_subcommands().empty() && !app.remaining().empty()) return app.exit(CLI::ExtrasError(app.remaining()));
    return app.exit(error);
  } catch (const whittle::TimeLimitReached& stopped) {
    std::cerr << "whittle: stopped: " << stopped.what() << "\n";
    return 75;
  } catch (const whittle::Error& error) {
    std::cerr << "whittle: error: " << error.what() << "\n";
    return 1;
  } catch (const c10::Error& error) {
    std::cerr << "whittle: error: " << error.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "whittle: error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
