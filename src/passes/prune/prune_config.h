#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace whittle::passes {

// Mase's unstructured (elementwise) pruning criteria.
//   random   an element is dropped where a uniform draw in [0, 1) is below
//            the sparsity.
//   l1_norm  an element is kept where its magnitude is strictly above the
//            sparsity-quantile of the magnitudes (torch.quantile, linear
//            interpolation); ties at the threshold are dropped.
enum class PruneMethod { random, l1_norm };

// Over which magnitudes the l1-norm quantile is taken (random ignores it, as
// in Mase):
//   local   each tensor's own.
//   global  weights: all pruned weights of the model together. Activations:
//           as Mase's global_activation_l1, one threshold over the inputs of
//           all Linears on a calibration batch, fixed when the pass runs
//           (the inputs of one forward pass cannot all be known before its
//           first layer runs).
enum class PruneScope { local, global };

struct PruneSettings {
  double sparsity = 0.0;  // fraction to drop, 0 <= s < 1
  PruneMethod method = PruneMethod::random;
  PruneScope scope = PruneScope::local;

  bool operator==(const PruneSettings&) const = default;
};

// The arguments of Mase's prune_transform_pass. A missing section prunes
// nothing of its kind.
struct PruneConfig {
  std::optional<PruneSettings> weight;
  std::optional<PruneSettings> activation;
  std::string origin = "prune config";  // the file or source, for messages
};

// Parses Mase's format:
//   [weight]
//   sparsity = 0.5            # 0 <= s < 1; Mase's default 0.0 when omitted
//   method = "l1-norm"        # or "random" (Mase's default)
//   scope = "local"           # or "global"; "local" when omitted
//   granularity = "elementwise"  # optional; the only granularity Mase implements
//   [activation]
//   ...the same keys
// At least one of the two sections is needed. A whole Mase `ch` config is
// accepted too: then only [passes.prune] is read. Unknown keys, other
// methods, scopes or granularities, per-layer sparsity tables and sparsities
// outside [0, 1) throw whittle::Error naming the key and `origin`.
PruneConfig parse_prune_config(const nlohmann::json& json, const std::string& origin);

// Reads a .toml or .json file in the format above.
PruneConfig load_prune_config(const std::filesystem::path& path);

// The config in Mase's JSON shape; parse_prune_config reads it back unchanged.
nlohmann::json to_json(const PruneConfig& config);
nlohmann::json to_json(const PruneSettings& settings);

// `--sparsity S --method M [--scope local|global]`: the weights of every
// Linear, and their inputs as well when prune_activations is set, as Mase's
// pruning lab does (it gives the activation section the weight section's
// values).
PruneConfig uniform_prune_config(double sparsity, PruneMethod method, PruneScope scope = PruneScope::local,
                                 bool prune_activations = true);

// "random" / "l1-norm" and "local" / "global"; anything else throws
// whittle::Error naming `what` (e.g. "--method").
PruneMethod parse_prune_method(const std::string& text, const std::string& what);
PruneScope parse_prune_scope(const std::string& text, const std::string& what);
std::string to_string(PruneMethod method);
std::string to_string(PruneScope scope);

}  // namespace whittle::passes
