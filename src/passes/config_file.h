#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace whittle::passes {

// Reads a pass config from a .toml or .json file into JSON, so that one
// parser per pass serves both formats. `what` names the config in errors
// ("quantize config"): a missing file, another extension or a syntax error
// throws whittle::Error with the file (and line:column for TOML).
nlohmann::json read_config_file(const std::filesystem::path& path, const std::string& what);

// Parses TOML text (a whole document) into JSON; `origin` names it in errors.
nlohmann::json parse_toml(const std::string& text, const std::string& origin);

}  // namespace whittle::passes
