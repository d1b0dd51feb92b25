#include "model/checkpoint.h"

#include <algorithm>
#include <array>
#include <set>
#include <sstream>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/path_checks.h"

namespace whittle::model {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::array<const char*, 4> kTokenizerFiles = {"vocab.txt", "tokenizer.json", "tokenizer_config.json",
                                                        "special_tokens_map.json"};
// How many names an error lists before summarising the rest.
constexpr size_t kNamesInErrors = 5;

bool starts_with_any(const std::string& name, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& prefix) { return name.starts_with(prefix); });
}

std::string format_shape(torch::IntArrayRef sizes) {
  std::ostringstream text;
  text << "[";
  for (size_t i = 0; i < sizes.size(); ++i) text << (i ? ", " : "") << sizes[i];
  text << "]";
  return text.str();
}

std::string list_names(const std::vector<std::string>& names) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < kNamesInErrors; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kNamesInErrors) text += " and " + std::to_string(names.size() - kNamesInErrors) + " more";
  return text;
}

json load_whittle_json(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return json::object();
  json parsed;
  try {
    parsed = json::parse(read_file(path));
  } catch (const json::exception& parse_error) {  // parse_error, or out_of_range for a number like 1e400
    throw Error(path.string() + ": not valid JSON: " + parse_error.what());
  }
  if (!parsed.is_object()) throw Error(path.string() + ": must be a JSON object");
  return parsed;
}

std::string normalized_name(std::string name) {
  for (const char* bare : {"embeddings.", "encoder.", "pooler."}) {
    if (name.starts_with(bare)) {
      name = "bert." + name;
      break;
    }
  }
  // TensorFlow-era checkpoints call the LayerNorm scale and shift gamma/beta.
  for (const auto& [old_suffix, new_suffix] : {std::pair{"LayerNorm.gamma", "LayerNorm.weight"},
                                               std::pair{"LayerNorm.beta", "LayerNorm.bias"}}) {
    const std::string_view old_view(old_suffix);
    if (name.ends_with(old_view)) {
      name = name.substr(0, name.size() - old_view.size()) + new_suffix;
      break;
    }
  }
  return name;
}

bool is_position_ids(const std::string& name) { return name == "position_ids" || name.ends_with(".position_ids"); }

}  // namespace

void copy_tokenizer_files(const fs::path& tokenizer_dir, const fs::path& destination) {
  std::error_code error;
  require_directory(tokenizer_dir, "tokenizer directory");
  bool copied_any = false;
  for (const char* file : kTokenizerFiles) {
    const fs::path source = tokenizer_dir / file;
    if (!fs::is_regular_file(source, error)) continue;
    write_file_atomically(destination / file, read_file(source));
    copied_any = true;
  }
  if (!copied_any) {
    throw Error("tokenizer directory " + tokenizer_dir.string() +
                " holds none of vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json");
  }
}

Checkpoint load_checkpoint(const fs::path& dir) {
  std::error_code error;
  require_directory(dir, "checkpoint directory");
  const fs::path weights = dir / Checkpoint::weights_file;
  if (!fs::exists(weights, error) && fs::exists(dir / "pytorch_model.bin", error)) {
    throw Error("checkpoint " + dir.string() +
                " has only pytorch_model.bin; whittle reads model.safetensors (convert it with transformers' "
                "save_pretrained(safe_serialization=True))");
  }
  require_regular_file(dir / Checkpoint::config_file, "checkpoint config");
  require_regular_file(weights, "checkpoint weights");

  Checkpoint checkpoint;
  checkpoint.config = load_bert_config(dir / Checkpoint::config_file);
  checkpoint.tensors = normalize_names(read_safetensors(weights));
  checkpoint.whittle = load_whittle_json(dir / Checkpoint::whittle_file);
  return checkpoint;
}

void save_checkpoint(const fs::path& dir, const Checkpoint& checkpoint, const fs::path& tokenizer_dir) {
  // Serialised before the directory swap starts so that a bad tensor or
  // config leaves the old checkpoint untouched.
  const std::string config_text = to_json(checkpoint.config).dump(2) + "\n";
  const std::string weights = serialize_safetensors(checkpoint.tensors);
  write_directory_atomically(dir, [&](const fs::path& staging) {
    write_file_atomically(staging / Checkpoint::config_file, config_text);
    write_file_atomically(staging / Checkpoint::weights_file, weights);
    if (!checkpoint.whittle.is_null() && !checkpoint.whittle.empty()) {
      write_file_atomically(staging / Checkpoint::whittle_file, checkpoint.whittle.dump(2) + "\n");
    }
    if (!tokenizer_dir.empty()) copy_tokenizer_files(tokenizer_dir, staging);
  });
}

TensorMap normalize_names(TensorMap tensors) {
  TensorMap normalized;
  std::map<std::string, std::string> source_of;
  for (auto& [name, tensor] : tensors) {
    if (is_position_ids(name)) continue;
    std::string target = normalized_name(name);
    if (auto [it, inserted] = source_of.emplace(target, name); !inserted) {
      throw Error("checkpoint tensors " + it->second + " and " + name + " both mean " + target);
    }
    normalized.emplace(std::move(target), std::move(tensor));
  }
  return normalized;
}

LoadReport assign_tensors(torch::nn::Module& module, const TensorMap& tensors,
                          const std::vector<std::string>& allowed_missing_prefixes) {
  LoadReport report;
  std::vector<std::string> missing_required;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;

  auto assign = [&](const std::string& name, torch::Tensor& target, bool is_parameter) {
    auto found = tensors.find(name);
    if (found == tensors.end()) {
      // Buffers (masks, position ids) are derived state: a model may run without them.
      if (is_parameter && !starts_with_any(name, allowed_missing_prefixes)) missing_required.push_back(name);
      report.missing.push_back(name);
      return;
    }
    const torch::Tensor& source = found->second;
    if (source.sizes() != target.sizes()) {
      throw Error("tensor " + name + " has shape " + format_shape(source.sizes()) +
                  " in the checkpoint but the model expects " + format_shape(target.sizes()));
    }
    // copy_ would convert an integer tensor (a header relabelled from F32 to
    // I32, say) into float weights without a word.
    if (source.is_floating_point() != target.is_floating_point()) {
      throw Error("tensor " + name + " is stored as " + std::string(c10::toString(source.scalar_type())) +
                  " in the checkpoint but the model expects " + std::string(c10::toString(target.scalar_type())));
    }
    target.copy_(source);
    used.insert(name);
  };
  for (auto& item : module.named_parameters(/*recurse=*/true)) assign(item.key(), item.value(), true);
  for (auto& item : module.named_buffers(/*recurse=*/true)) assign(item.key(), item.value(), false);

  if (!missing_required.empty()) {
    throw Error("checkpoint lacks " + std::to_string(missing_required.size()) +
                " parameters the model needs: " + list_names(missing_required));
  }
  for (const auto& [name, tensor] : tensors) {
    if (!used.contains(name)) report.unexpected.push_back(name);
  }
  return report;
}

TensorMap collect_tensors(const torch::nn::Module& module) {
  // Cloned, not just detached: callers keep these as snapshots (best epoch so
  // far) while training goes on updating the module in place.
  TensorMap tensors;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    tensors.emplace(item.key(), item.value().detach().clone(at::MemoryFormat::Contiguous));
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    tensors.emplace(item.key(), item.value().detach().clone(at::MemoryFormat::Contiguous));
  }
  return tensors;
}

}  // namespace whittle::model
