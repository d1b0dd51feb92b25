#pragma once
#include <filesystem>
#include <iosfwd>

#include <nlohmann/json.hpp>

#include "experiments/lab_config.h"

namespace whittle::experiments {

// The report stage of the lab: reads what the other stages left in the run
// directory (stage records, the sweeps' results.json), measures the size of
// every model of the sweeps by re-applying its passes, draws the size
// figure, and writes report.md and report.html. Returns a summary.
nlohmann::json write_lab_report(const LabConfig& config, const std::filesystem::path& run_dir,
                                const nlohmann::json& stages, std::ostream& log);

}  // namespace whittle::experiments
