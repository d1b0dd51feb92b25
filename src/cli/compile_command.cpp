#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "deploy/compile.h"
#include "deploy/deployed_classifier.h"
#include "deploy/model_file.h"
#include "experiments/compressed_model.h"
#include "text/tokenizer_files.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::cli {
namespace {

namespace fs = std::filesystem;

struct CompileArguments {
  std::string from;
  std::string out;
  std::string tokenizer;
  int64_t embedding_bits = 8;
  int64_t position_embedding_bits = 32;
};

// Bytes of the file by what they hold.
nlohmann::json composition(const deploy::FileLayout& layout, const deploy::CompiledModel& model) {
  int64_t embeddings = 0, linear_weights = 0, linear_biases = 0, layer_norms = 0;
  for (const auto& [name, bytes] : layout.tensor_bytes) {
    const std::string owner = name.substr(0, name.rfind('.'));
    if (name.starts_with("bert.embeddings.") && !name.starts_with("bert.embeddings.LayerNorm")) {
      embeddings += bytes;
    } else if (model.linears.contains(owner)) {
      (name.ends_with(".weight") ? linear_weights : linear_biases) += bytes;
    } else {
      layer_norms += bytes;
    }
  }
  return {{"embeddings", embeddings},     {"linear_weights", linear_weights}, {"linear_biases", linear_biases},
          {"layer_norms", layer_norms},   {"vocabulary", layout.vocabulary_bytes},
          {"header", layout.header_bytes}};
}

void run_compile(const CompileArguments& arguments) {
  deploy::CompileOptions options{deploy::embedding_storage_from_bits(arguments.embedding_bits),
                                 deploy::embedding_storage_from_bits(arguments.position_embedding_bits)};
  auto loaded = experiments::load_compressed(arguments.from, 0);
  require_trained_classifier(loaded, arguments.from);
  fs::path tokenizer_dir = resolve_tokenizer_dir(arguments.tokenizer, arguments.from);
  nlohmann::json source = {{"from", fs::absolute(arguments.from).lexically_normal().string()},
                           {"embedding_bits", arguments.embedding_bits},
                           {"position_embedding_bits", arguments.position_embedding_bits}};
  for (const char* pass : {"quantize", "prune"}) {
    if (loaded.whittle.contains(pass)) source[pass] = loaded.whittle.at(pass);
  }
  deploy::CompiledModel compiled =
      deploy::compile_classifier(loaded.model, text::read_tokenizer_files(tokenizer_dir), options, source);
  const std::string bytes = deploy::serialize_compiled_model(compiled);
  write_file_atomically(arguments.out, bytes);

  const deploy::FileLayout layout = deploy::describe_model_file(bytes, arguments.out);
  const fs::path checkpoint = fs::path(arguments.from) / "model.safetensors";
  const auto checkpoint_bytes = static_cast<int64_t>(fs::file_size(checkpoint));
  nlohmann::json engines = nlohmann::json::object();
  for (const auto& [name, engine] : deploy::DeployedClassifier(compiled).engines()) engines[name] = engine;
  nlohmann::json summary = {{"out", arguments.out},
                            {"bytes", layout.total_bytes},
                            {"checkpoint_bytes", checkpoint_bytes},
                            {"smaller_by", static_cast<double>(checkpoint_bytes) / static_cast<double>(layout.total_bytes)},
                            {"composition", composition(layout, compiled)},
                            {"engines", engines}};
  std::cerr << "compiled " << arguments.out << ": " << layout.total_bytes << " bytes, " << checkpoint.string() << " "
            << checkpoint_bytes << " bytes\n";
  print_json_line(summary);
}

}  // namespace

void register_compile_command(CLI::App& app) {
  auto [command, arguments] = add_command<CompileArguments>(app, "compile", run_compile,
      "turn a (quantized, pruned) checkpoint into a compact model file for integer inference");
  add_from_option(*command, arguments->from, "checkpoint directory (whittle quantize / prune output)");
  add_out_option(*command, arguments->out, "the model file to write");
  command->add_option("--tokenizer", arguments->tokenizer, "tokenizer directory (default: the checkpoint's)");
  command->add_option("--embedding-bits", arguments->embedding_bits,
                      "storage of the word embeddings: 8 (int8 rows), 16 (float16) or 32 (float32, exact)")
      ->capture_default_str();
  command->add_option("--position-embedding-bits", arguments->position_embedding_bits,
                      "storage of the position embeddings: 8, 16 or 32 (float32, exact)")
      ->capture_default_str();
}

}  // namespace whittle::cli
