#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "deploy/onnx_export.h"
#include "experiments/compressed_model.h"
#include "passes/prune/prune_pass.h"
#include "passes/quantize/quantize_pass.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

enum class ExportFormat { huggingface, onnx };

// Checked before the checkpoint is read, so a typo costs nothing.
ExportFormat parse_export_format(const std::string& text) {
  if (text == "huggingface") return ExportFormat::huggingface;
  if (text == "onnx") return ExportFormat::onnx;
  throw Error("unknown --format '" + text + "': expected huggingface or onnx");
}

struct ExportArguments {
  std::string from;
  std::string out;
  std::string tokenizer;
  std::string format = "huggingface";
  bool token_type_ids = false;
  bool float_parameters = false;
};

void export_huggingface(const ExportArguments& arguments) {
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

// Unlike the checkpoint, the ONNX graph keeps what the passes do to
// activations too: input quantization and l1-norm input masks.
void export_onnx_model(const ExportArguments& arguments) {
  auto loaded = experiments::load_compressed(arguments.from, 0);
  require_trained_classifier(loaded, arguments.from);
  deploy::OnnxExportOptions options;
  options.token_type_ids = arguments.token_type_ids;
  options.int8_parameters = !arguments.float_parameters;
  const deploy::OnnxExportReport report = deploy::export_onnx(loaded.model, arguments.out, options);
  nlohmann::json summary = deploy::to_json(report);
  summary.erase("layers");  // one line on stdout; the per-layer detail is in the file's metadata
  summary["out"] = arguments.out;
  summary["format"] = "onnx";
  std::cerr << "exported " << arguments.out << " (ONNX opset " << report.opset << ", IR " << report.ir_version << ", "
            << report.nodes << " nodes, " << report.bytes << " bytes)\n";
  print_json_line(summary);
}

void run_export(const ExportArguments& arguments) {
  if (parse_export_format(arguments.format) == ExportFormat::onnx) {
    if (!arguments.tokenizer.empty()) throw Error("--tokenizer applies to --format huggingface only: an ONNX model takes token ids");
    export_onnx_model(arguments);
    return;
  }
  if (arguments.token_type_ids || arguments.float_parameters) {
    throw Error("--token-type-ids and --float-parameters apply to --format onnx only");
  }
  export_huggingface(arguments);
}

}  // namespace

void register_export_command(CLI::App& app) {
  auto [command, arguments] = add_command<ExportArguments>(app, "export", run_export,
      "write a plain Hugging Face checkpoint whose weights hold their compressed values, or an ONNX model");
  add_from_option(*command, arguments->from, "compressed checkpoint directory");
  add_out_option(*command, arguments->out, "where to write: a checkpoint directory, or the .onnx file with --format onnx");
  command->add_option("--format", arguments->format, "huggingface (checkpoint directory) or onnx (one .onnx file)")
      ->capture_default_str();
  command->add_option("--tokenizer", arguments->tokenizer, "tokenizer files to include (default: the checkpoint's)");
  command->add_flag("--token-type-ids", arguments->token_type_ids,
                    "onnx: take token_type_ids as a third input (whittle itself reads type 0 everywhere)");
  command->add_flag("--float-parameters", arguments->float_parameters,
                    "onnx: store weights of 8 bits or fewer as float32 rather than int8 + DequantizeLinear");
}

}  // namespace whittle::cli
