#pragma once
#include <CLI/CLI.hpp>

namespace whittle::cli {

// Each subcommand lives in its own file and adds itself to the app. The
// callback it installs throws whittle::Error on bad input; main() prints the
// message as one line and exits non-zero.
// One function type for all, so that main() can keep them in one table.
using RegisterCommand = void(CLI::App&);

RegisterCommand register_tokenize_command, register_finetune_command, register_eval_command, register_quantize_command,
    register_export_command, register_prune_command, register_sweep_command, register_pretrain_command,
    register_eval_mlm_command, register_lora_command, register_lab_command, register_compile_command,
    register_run_command, register_search_command;

}  // namespace whittle::cli
