#include "cli/stored_results.h"

#include "cli/cli_runner.h"

namespace whittle::cli_testing {

using nlohmann::json;

json without_timings(json value) {
  if (value.is_array()) {
    for (auto& element : value) element = without_timings(element);
  }
  if (!value.is_object()) return value;
  json kept = json::object();
  for (const auto& [name, field] : value.items()) {
    if (!name.ends_with("seconds") && !name.ends_with("per_second")) kept[name] = without_timings(field);
  }
  return kept;
}

std::map<std::string, json> values_by_key(const std::filesystem::path& results, std::map<std::string, int>* counts) {
  std::map<std::string, json> values;
  const json document = json::parse(read_text(results));
  for (const auto& point : document.at("points")) {
    const std::string key = point.at("key").get<std::string>();
    values[key] = without_timings(point.at("value"));
    if (counts) ++(*counts)[key];
  }
  return values;
}

}  // namespace whittle::cli_testing
