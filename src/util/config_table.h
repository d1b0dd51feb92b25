#pragma once
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace whittle {

// "a table", "a string (\"x\")", ...: what a config value is, for messages.
std::string describe_config_value(const nlohmann::json& value);

// One table of a config file (parsed from TOML or JSON), read with types
// checked and errors that say where: "configs/lab1.toml: lora.rank must be
// a positive integer, got a string (\"six\")". A missing key takes the
// default given by the caller; an unknown key is an error, so that typos
// never pass silently.
class ConfigTable {
 public:
  // `origin` names the file; `path` is the dotted path of this table ("" at the root).
  ConfigTable(const nlohmann::json& value, std::string origin, std::string path = "");
  // The root of a config whose values at some dotted paths came from
  // elsewhere (`origins_by_path`, e.g. "quantize.widths" -> "--set
  // quantize.widths=[0]"): errors about them, or inside them, name that origin.
  ConfigTable(const nlohmann::json& value, std::string origin, std::map<std::string, std::string> origins_by_path);

  // Throws naming the first key that is not one of `known`.
  void allow_only(std::initializer_list<std::string_view> known) const;
  bool has(const std::string& key) const;

  std::string string(const std::string& key, const std::string& fallback) const;
  int64_t integer(const std::string& key, int64_t fallback) const;
  double number(const std::string& key, double fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& fallback) const;
  std::vector<double> numbers(const std::string& key, const std::vector<double>& fallback) const;
  std::vector<std::string> strings(const std::string& key, const std::vector<std::string>& fallback) const;
  // A nested table; an empty one when the key is missing.
  ConfigTable table(const std::string& key) const;

  // An error about `key` of this table, with the file and the full dotted path.
  Error error(const std::string& key, const std::string& problem) const;
  // Runs a validation that throws whittle::Error, and throws its message
  // again as an error about `key` of this table.
  template <typename Validation>
  void check(const std::string& key, Validation&& validation) const {
    try {
      validation();
    } catch (const Error& failure) {
      throw error(key, failure.what());
    }
  }
  // Where this table's values come from, for errors about the table as a
  // whole: the file, "with --set ..." for values given on the command line.
  std::string origin() const;

 private:
  std::string full_path(const std::string& key) const;
  const std::string& origin_of(const std::string& dotted_path) const;
  const nlohmann::json* find(const std::string& key) const;

  nlohmann::json value_;
  std::string origin_;
  std::string path_;
  std::map<std::string, std::string> origins_by_path_;
};

}  // namespace whittle
