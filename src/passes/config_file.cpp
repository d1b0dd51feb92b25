#include "passes/config_file.h"

#include <algorithm>
#include <sstream>

#include <toml++/toml.h>

#include "util/atomic_file.h"
#include "util/config_table.h"
#include "util/error.h"

namespace whittle::passes {
namespace {

using json = nlohmann::json;

json toml_to_json(const toml::node& node) {
  if (const auto* table = node.as_table()) {
    json object = json::object();
    for (const auto& [key, value] : *table) object[std::string(key.str())] = toml_to_json(value);
    return object;
  }
  if (const auto* array = node.as_array()) {
    json list = json::array();
    for (const auto& value : *array) list.push_back(toml_to_json(value));
    return list;
  }
  if (const auto* value = node.as_integer()) return value->get();
  if (const auto* value = node.as_floating_point()) return value->get();
  if (const auto* value = node.as_boolean()) return value->get();
  if (const auto* value = node.as_string()) return value->get();
  std::ostringstream text;  // dates and times: kept as text so that messages can show them
  node.visit([&](const auto& leaf) { text << leaf; });
  return text.str();
}

}  // namespace

json parse_toml(const std::string& text, const std::string& origin) {
  try {
    return toml_to_json(toml::parse(text, origin));
  } catch (const toml::parse_error& error) {
    const auto& begin = error.source().begin;
    throw Error(origin + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) +
                ": invalid TOML: " + std::string(error.description()));
  }
}

json parse_json_text(const std::string& text, const std::string& origin) {
  try {
    return json::parse(text);
  } catch (const json::exception& error) {  // parse_error, or out_of_range for a number like 1e400
    throw Error(origin + ": invalid JSON: " + error.what());
  }
}

json read_config_file(const std::filesystem::path& path, const std::string& what) {
  if (!std::filesystem::is_regular_file(path)) throw Error(what + " not found: " + path.string());
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  if (extension == ".toml") return parse_toml(read_file(path), path.string());
  if (extension == ".json") return parse_json_text(read_file(path), path.string());
  throw Error(what + " must be a .toml or .json file: " + path.string());
}

const json& expect_table(const json& value, const ConfigLocation& at, const std::string& path) {
  if (!value.is_object()) throw at.error(path, "must be a table, got " + describe_config_value(value));
  return value;
}

const json& pass_section(const json& document, const std::string& pass, ConfigLocation& at) {
  expect_table(document, at, "(top level)");
  if (!document.contains("passes")) return document;
  const json& passes = expect_table(document.at("passes"), at, "passes");
  const std::string section = "passes." + pass;
  if (!passes.contains(pass)) throw at.error(section, "is missing");
  const json& settings = expect_table(passes.at(pass), at, section);
  at.key_prefix = section + ".";
  return settings;
}

}  // namespace whittle::passes
