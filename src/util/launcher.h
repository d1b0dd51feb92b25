#pragma once
#include <functional>
#include <optional>
#include <string>

namespace whittle {

// Where one process stands among the processes a launcher started: its index
// (0-based) and how many there are, and which launcher said so.
struct ProcessPlace {
  int index = 0;
  int count = 1;
  std::string source = "single process";
};

// Reads an environment variable; none if unset. Tests pass their own.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvironmentLookup process_environment();

// `text` as a whole number in [low, high]; throws whittle::Error naming `what`.
int parse_whole_number(const std::string& text, const std::string& what, int low, int high);

// "I/N" as given to --shard; throws whittle::Error naming the problem.
ProcessPlace parse_shard(const std::string& text);

// The shard of a sweep process: a Slurm job array task
// (SLURM_ARRAY_TASK_ID/_MIN/_STEP/_COUNT), else a rank of mpirun
// (OMPI_COMM_WORLD_RANK/_SIZE), of srun (SLURM_PROCID/SLURM_NTASKS) or of a
// PyTorch-style launcher (RANK/WORLD_SIZE); a single process if none is set.
ProcessPlace sweep_shard_from(const EnvironmentLookup& environment);

// The rank of a data-parallel training process: RANK/WORLD_SIZE (PyTorch's
// convention) first, then Open MPI's and srun's variables. Array task ids are
// not ranks: each array task is a job of its own.
ProcessPlace training_rank_from(const EnvironmentLookup& environment);

}  // namespace whittle
