#include "util/launcher.h"

#include <cstdlib>
#include <vector>

#include "util/error.h"

namespace whittle {
namespace {

int parse_count(const std::string& text, const std::string& what) {
  return parse_whole_number(text, what, 0, 1'000'000);
}

ProcessPlace checked_place(int index, int count, std::string source) {
  if (count < 1) throw Error(source + ": the number of processes must be at least 1, got " + std::to_string(count));
  if (index >= count) {
    throw Error(source + ": index " + std::to_string(index) + " is not below the number of processes " +
                std::to_string(count));
  }
  return {index, count, std::move(source)};
}

// A rank and a size given as two variables; none if the rank is unset.
std::optional<ProcessPlace> place_from_pair(const EnvironmentLookup& environment, const std::string& rank_name,
                                            const std::string& size_name) {
  auto rank = environment(rank_name);
  if (!rank) return std::nullopt;
  auto size = environment(size_name);
  if (!size) throw Error(rank_name + " is set but " + size_name + " is not");
  return checked_place(parse_count(*rank, rank_name), parse_count(*size, size_name), rank_name + "/" + size_name);
}

// Array indices need not start at 0 or step by 1 (--array=1-7:2): the shard is
// the task's position among them.
std::optional<ProcessPlace> place_from_slurm_array(const EnvironmentLookup& environment) {
  auto id = environment("SLURM_ARRAY_TASK_ID");
  if (!id) return std::nullopt;
  auto required = [&](const std::string& name) {
    auto value = environment(name);
    if (!value) throw Error("SLURM_ARRAY_TASK_ID is set but " + name + " is not");
    return parse_count(*value, name);
  };
  const int task = parse_count(*id, "SLURM_ARRAY_TASK_ID");
  const int first = required("SLURM_ARRAY_TASK_MIN");
  const int last = required("SLURM_ARRAY_TASK_MAX");
  const int count = required("SLURM_ARRAY_TASK_COUNT");
  const int step = environment("SLURM_ARRAY_TASK_STEP") ? required("SLURM_ARRAY_TASK_STEP") : 1;
  if (step < 1 || (last - first) % step != 0 || (last - first) / step + 1 != count || (task - first) % step != 0) {
    throw Error("the Slurm job array is not evenly spaced (min " + std::to_string(first) + ", max " +
                std::to_string(last) + ", step " + std::to_string(step) + ", " + std::to_string(count) +
                " tasks): submit it as --array=0-" + std::to_string(count - 1));
  }
  return checked_place((task - first) / step, count, "SLURM_ARRAY_TASK_ID");
}

using PlaceSource = std::function<std::optional<ProcessPlace>(const EnvironmentLookup&)>;

ProcessPlace first_place(const EnvironmentLookup& environment, const std::vector<PlaceSource>& sources) {
  for (const auto& source : sources) {
    if (auto place = source(environment)) return *place;
  }
  return {};
}

PlaceSource pair(std::string rank_name, std::string size_name) {
  return [rank_name, size_name](const EnvironmentLookup& environment) {
    return place_from_pair(environment, rank_name, size_name);
  };
}

}  // namespace

int parse_whole_number(const std::string& text, const std::string& what, int low, int high) {
  std::size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < low || value > high) {
    throw Error(what + " must be a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
                ", got \"" + text + "\"");
  }
  return static_cast<int>(value);
}

EnvironmentLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

ProcessPlace parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) throw Error("--shard must be I/N (this process's index and the count), got \"" + text + "\"");
  return checked_place(parse_count(text.substr(0, slash), "--shard's index"),
                       parse_count(text.substr(slash + 1), "--shard's count"), "--shard " + text);
}

ProcessPlace sweep_shard_from(const EnvironmentLookup& environment) {
  return first_place(environment, {place_from_slurm_array, pair("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                                   pair("SLURM_PROCID", "SLURM_NTASKS"), pair("RANK", "WORLD_SIZE")});
}

ProcessPlace training_rank_from(const EnvironmentLookup& environment) {
  return first_place(environment, {pair("RANK", "WORLD_SIZE"), pair("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                                   pair("SLURM_PROCID", "SLURM_NTASKS")});
}

}  // namespace whittle
