#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "experiments/compressed_model.h"
#include "passes/prune/prune_pass.h"
#include "passes/quantize/quantize_pass.h"

namespace whittle::cli {
namespace {

struct ExportArguments {
  std::string from;
  std::string out;
  std::string tokenizer;
};

void run_export(const ExportArguments& arguments) {
  auto loaded = experiments::load_compressed(arguments.from, 0);
  // Masks first: a pruned weight is zero, and zero quantizes to zero.
  std::vector<std::string> pruned = passes::bake_pruning(*loaded.model);
  std::vector<std::string> baked = passes::bake_quantization(*loaded.model);
  nlohmann::json notes = {{"exported_from", arguments.from},
                          {"baked_pruned_layers", pruned},
                          {"baked_quantized_layers", baked},
                          {"note", "weights and biases hold their pruned and quantized values; activations are neither quantized nor pruned"}};
  std::filesystem::path tokenizer_dir = arguments.tokenizer.empty() ? std::filesystem::path(arguments.from) : std::filesystem::path(arguments.tokenizer);
  experiments::save_compressed(arguments.out, loaded.model, notes, tokenizer_dir);
  std::cerr << "exported " << arguments.out << " (" << baked.size() << " layers with quantized weights)\n";
}

}  // namespace

void register_export_command(CLI::App& app) {
  auto [command, arguments] = add_command<ExportArguments>(app, "export", run_export,
      "write a plain Hugging Face checkpoint whose weights hold their compressed values");
  add_from_option(*command, arguments->from, "compressed checkpoint directory");
  add_out_option(*command, arguments->out, "where to write the plain checkpoint");
  command->add_option("--tokenizer", arguments->tokenizer, "tokenizer files to include (default: the checkpoint's)");
}

}  // namespace whittle::cli
