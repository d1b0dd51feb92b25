#!/usr/bin/env bash
# One task of a Slurm job array that shares a whittle sweep. Submit it with
#   sbatch --array=0-$((N-1)) scripts/slurm/sweep-array.sh quant --from BASE --out SHARED_DIR [flags]
# Each task reads its shard from SLURM_ARRAY_TASK_ID/_COUNT, claims points in
# the shared --out directory (one result store), runs its own points first and
# then any that no task has claimed. The task that stores the last point writes
# the figures. A task that dies leaves its point to the next run: submit again.
#SBATCH --job-name=whittle-sweep
#SBATCH --ntasks=1
#SBATCH --output=whittle-sweep-%A_%a.log
set -euo pipefail
: "${WHITTLE:=whittle}"
: "${WHITTLE_THREADS:=${SLURM_CPUS_PER_TASK:-1}}"
exec "$WHITTLE" --threads "$WHITTLE_THREADS" sweep "$@"
