#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace whittle::passes {

// LoRA as Mase's lab uses it (Tutorial 2, insert_lora_adapter_transform_pass):
// every Linear gets y += (alpha / rank) * dropout(x) A^T B^T.
//
// Where whittle departs from Mase's code, on purpose:
//   - Defaults are the values the lab writes (rank 6, alpha 1, dropout 0.5).
//     Mase's pass reads the keys lora_alpha / lora_dropout while the lab passes
//     alpha / dropout, so Mase silently runs with its own defaults (alpha 0.5,
//     no dropout); whittle honours both spellings.
//   - Only the adapters and the classifier train. Mase's LoRALinear means to
//     freeze the base weight but the pass then assigns the original (trainable)
//     Parameter to it, so Mase trains more parameters with LoRA than without;
//     the lab's stated intent, and standard LoRA, is a frozen base.
//   - B starts at zero (standard LoRA and PEFT, which Mase's older LinearLora
//     copied), so inserting adapters leaves the model's output unchanged; Mase's
//     LoRALinear initialises B like any nn.Linear and drops the layer's bias.
//   - The classifier takes no adapter: it is trained in full (a new task head;
//     PEFT's modules_to_save does the same), and W + BA over a trainable W adds
//     nothing. The pooler and every encoder Linear get adapters, as in Mase.
struct LoraConfig {
  int64_t rank = 6;
  double alpha = 1.0;
  double dropout = 0.5;  // on the adapter input, in training mode only
  // Module names that get adapters; a Linear is selected when its name is a
  // target or ends with "." + target (PEFT's rule): {"query", "value"}.
  // Empty: every Linear except the classifier.
  std::vector<std::string> target_modules;
  std::string origin = "lora config";  // the file or flags, for messages

  double scaling() const { return alpha / static_cast<double>(rank); }
};

// Parses Mase's pass arguments, in TOML or JSON:
//   rank = 6            # or r (PEFT); an integer >= 1
//   lora_alpha = 1.0    # or alpha (the lab's spelling); positive
//   lora_dropout = 0.5  # or dropout; 0 <= p < 1
//   target_modules = ["query", "key", "value"]   # optional
// Missing keys keep the defaults above. A whole Mase `ch` config is accepted
// too: then only [passes.lora] is read. Unknown keys, a setting given under
// both of its names, rank < 1, alpha <= 0, dropout outside [0, 1), and
// targets that are not non-empty strings or name the classifier throw
// whittle::Error naming the key and `origin`.
LoraConfig parse_lora_config(const nlohmann::json& json, const std::string& origin);

// Reads a .toml or .json file in the format above.
LoraConfig load_lora_config(const std::filesystem::path& path);

// The config with Mase's pass keys; parse_lora_config reads it back unchanged.
nlohmann::json to_json(const LoraConfig& config);

// `--rank R --alpha A --dropout P`: unset flags keep the defaults; bad values
// throw whittle::Error naming the flag.
LoraConfig lora_config_from_flags(std::optional<int64_t> rank, std::optional<double> alpha,
                                  std::optional<double> dropout);

}  // namespace whittle::passes
