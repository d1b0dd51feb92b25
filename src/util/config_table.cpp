#include "util/config_table.h"

#include <algorithm>

namespace whittle {
namespace {

using nlohmann::json;

bool is_integer(const json& value) { return value.is_number_integer(); }
bool is_number(const json& value) { return value.is_number(); }

}  // namespace

std::string describe_config_value(const json& value) {
  if (value.is_object()) return "a table";
  if (value.is_array()) return "an array";
  if (value.is_boolean()) return "a boolean (" + value.dump() + ")";
  if (value.is_string()) return "a string (" + value.dump() + ")";
  if (value.is_number()) return "a number (" + value.dump() + ")";
  return "null";
}

ConfigTable::ConfigTable(const json& value, std::string origin, std::string path)
    : value_(value.is_null() ? json::object() : value), origin_(std::move(origin)), path_(std::move(path)) {
  if (!value_.is_object()) {
    throw Error(origin_ + ": " + (path_.empty() ? "the config" : path_) + " must be a table, got " +
                describe_config_value(value_));
  }
}

ConfigTable::ConfigTable(const json& value, std::string origin, std::map<std::string, std::string> origins_by_path)
    : ConfigTable(value, std::move(origin)) {
  origins_by_path_ = std::move(origins_by_path);
}

const std::string& ConfigTable::origin_of(const std::string& dotted_path) const {
  const std::string* best = &origin_;
  std::size_t best_length = 0;
  for (const auto& [path, origin] : origins_by_path_) {
    bool inside = dotted_path == path || dotted_path.starts_with(path + ".");
    if (inside && path.size() >= best_length) {
      best = &origin;
      best_length = path.size();
    }
  }
  return *best;
}

std::string ConfigTable::origin() const {
  if (!path_.empty() && &origin_of(path_) != &origin_) return origin_of(path_);
  std::string described = origin_;
  for (const auto& [path, origin] : origins_by_path_) {
    if (path_.empty() || path.starts_with(path_ + ".")) described += " with " + origin;
  }
  return described;
}

void ConfigTable::allow_only(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, value] : value_.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (std::string_view name : known) list += (list.empty() ? "" : ", ") + std::string(name);
    throw error(key, "is not a known key (known here: " + list + ")");
  }
}

bool ConfigTable::has(const std::string& key) const { return value_.contains(key); }

const json* ConfigTable::find(const std::string& key) const {
  auto found = value_.find(key);
  return found == value_.end() ? nullptr : &*found;
}

std::string ConfigTable::full_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

Error ConfigTable::error(const std::string& key, const std::string& problem) const {
  return Error(origin_of(full_path(key)) + ": " + full_path(key) + " " + problem);
}

std::string ConfigTable::string(const std::string& key, const std::string& fallback) const {
  const json* value = find(key);
  if (!value) return fallback;
  if (!value->is_string()) throw error(key, "must be a string, got " + describe_config_value(*value));
  return value->get<std::string>();
}

int64_t ConfigTable::integer(const std::string& key, int64_t fallback) const {
  const json* value = find(key);
  if (!value) return fallback;
  if (!is_integer(*value)) throw error(key, "must be an integer, got " + describe_config_value(*value));
  return value->get<int64_t>();
}

double ConfigTable::number(const std::string& key, double fallback) const {
  const json* value = find(key);
  if (!value) return fallback;
  if (!is_number(*value)) throw error(key, "must be a number, got " + describe_config_value(*value));
  return value->get<double>();
}

bool ConfigTable::boolean(const std::string& key, bool fallback) const {
  const json* value = find(key);
  if (!value) return fallback;
  if (!value->is_boolean()) throw error(key, "must be true or false, got " + describe_config_value(*value));
  return value->get<bool>();
}

namespace {

template <typename T, typename Check>
std::vector<T> read_list(const ConfigTable& table, const json* value, const std::string& key,
                         const std::vector<T>& fallback, Check check, const char* element) {
  if (!value) return fallback;
  if (!value->is_array()) {
    throw table.error(key, std::string("must be an array of ") + element + "s, got " + describe_config_value(*value));
  }
  std::vector<T> items;
  for (const auto& item : *value) {
    if (!check(item)) {
      throw table.error(key, std::string("must hold only ") + element + "s, got " + describe_config_value(item));
    }
    items.push_back(item.get<T>());
  }
  return items;
}

}  // namespace

std::vector<int64_t> ConfigTable::integers(const std::string& key, const std::vector<int64_t>& fallback) const {
  return read_list<int64_t>(*this, find(key), key, fallback, is_integer, "integer");
}

std::vector<double> ConfigTable::numbers(const std::string& key, const std::vector<double>& fallback) const {
  return read_list<double>(*this, find(key), key, fallback, is_number, "number");
}

std::vector<std::string> ConfigTable::strings(const std::string& key, const std::vector<std::string>& fallback) const {
  auto is_string = [](const json& item) { return item.is_string(); };
  return read_list<std::string>(*this, find(key), key, fallback, is_string, "string");
}

ConfigTable ConfigTable::table(const std::string& key) const {
  const json* value = find(key);
  ConfigTable nested(value ? *value : json::object(), origin_of(full_path(key)), full_path(key));
  nested.origin_ = origin_;
  nested.origins_by_path_ = origins_by_path_;
  return nested;
}

}  // namespace whittle
