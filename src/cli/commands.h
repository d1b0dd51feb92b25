#pragma once
#include <CLI/CLI.hpp>

namespace whittle::cli {

// Each subcommand lives in its own file and adds itself to the app. The
// callback it installs throws whittle::Error on bad input; main() prints the
// message as one line and exits non-zero.
void register_tokenize_command(CLI::App& app);
void register_finetune_command(CLI::App& app);
void register_eval_command(CLI::App& app);
void register_quantize_command(CLI::App& app);
void register_export_command(CLI::App& app);
void register_prune_command(CLI::App& app);
void register_sweep_command(CLI::App& app);
void register_pretrain_command(CLI::App& app);
void register_eval_mlm_command(CLI::App& app);
void register_lora_command(CLI::App& app);
void register_lab_command(CLI::App& app);
void register_compile_command(CLI::App& app);
void register_run_command(CLI::App& app);

}  // namespace whittle::cli
