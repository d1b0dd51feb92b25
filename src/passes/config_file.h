#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace whittle::passes {

// Reads a pass config from a .toml or .json file into JSON, so that one
// parser per pass serves both formats. `what` names the config in errors
// ("quantize config"): a missing file, another extension or a syntax error
// throws whittle::Error with the file (and line:column for TOML).
nlohmann::json read_config_file(const std::filesystem::path& path, const std::string& what);

// Parses TOML text (a whole document) into JSON; `origin` names it in errors.
nlohmann::json parse_toml(const std::string& text, const std::string& origin);
// The same for JSON text.
nlohmann::json parse_json_text(const std::string& text, const std::string& origin);

// Where a value of a pass config sits, for messages:
// "configs/prune/x.toml: passes.prune.weight.sparsity must be ...".
struct ConfigLocation {
  const std::string& origin;
  std::string key_prefix;  // "passes.prune." inside a whole Mase ch config

  std::string key(const std::string& path) const { return key_prefix + path; }
  // "<origin>: <key>", how every error about that key begins.
  std::string where(const std::string& path) const { return origin + ": " + key(path); }
  Error error(const std::string& path, const std::string& problem) const { return Error(where(path) + " " + problem); }
};

// `value` itself, or an error naming `path` when it is not a table.
const nlohmann::json& expect_table(const nlohmann::json& value, const ConfigLocation& at, const std::string& path);

// The settings of pass `pass` ("quantize", "prune"): the document itself, or
// its passes.<pass> table when it is a whole Mase ch config (whose other keys
// belong to other ch actions). `at` then prefixes keys with "passes.<pass>.".
const nlohmann::json& pass_section(const nlohmann::json& document, const std::string& pass, ConfigLocation& at);

}  // namespace whittle::passes
