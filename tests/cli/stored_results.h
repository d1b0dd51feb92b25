#pragma once
// What a result store (results.json) holds, in the form tests compare: the
// value of every point without the figures that measure time, which differ
// between runs of the same sweep.
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace whittle::cli_testing {

// `value` without what measures time (seconds, tokens per second); every
// other figure must be the same in two runs of one sweep.
nlohmann::json without_timings(nlohmann::json value);

// key -> value of a results.json, without the timings; `counts` (if given)
// says how often each key is stored.
std::map<std::string, nlohmann::json> values_by_key(const std::filesystem::path& results,
                                                    std::map<std::string, int>* counts = nullptr);

}  // namespace whittle::cli_testing
