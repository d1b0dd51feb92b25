#!/usr/bin/env bash
# Runs a tiny whittle sweep as a Slurm job array on this machine, as a check
# that the array recipe (scripts/slurm/sweep-array.sh) works end to end:
# installs Slurm and munge, starts slurmctld and slurmd on localhost with a
# generated config, runs the sweep serially and as a 3-task array, and
# checks that the array's merged results equal the serial ones, with every
# point stored once. Needs root (the daemons) and a built whittle; not part
# of CI. Usage: scripts/slurm/smoke.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
whittle="$repo/build/whittle"
work=$(realpath -m "${1:-/tmp/whittle-slurm-smoke}")
[ -x "$whittle" ] || { echo "smoke: build whittle first (scripts/build.sh)" >&2; exit 1; }

missing=()
for p in slurm-wlm munge jq; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

rm -rf "$work"
mkdir -p "$work"/{state,spool,logs}
host=$(hostname -s)
cpus=$(nproc)
memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
export SLURM_CONF="$work/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=whittle-smoke
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/logs/slurmctld.log
SlurmdLogFile=$work/logs/slurmd.log
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=smoke Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

daemons=()
stop_daemons() {
  for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -s /run/munge/munged.pid ] && kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
}
trap stop_daemons EXIT
mkdir -p /run/munge && chown munge:munge /run/munge
[ -s /etc/munge/munge.key ] || mungekey -c
su munge -s /bin/sh -c munged  # forks into the background and writes /run/munge/munged.pid
slurmctld -D -f "$SLURM_CONF" > "$work/logs/slurmctld.out" 2>&1 &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" > "$work/logs/slurmd.out" 2>&1 &
daemons+=($!)
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed" && break; sleep 1; done
sinfo

fixtures="$repo/tests/fixtures"
common=(--data "$fixtures/imdb" --cache-dir "$work/cache" --max-length 64 --widths 4,6,8 --qat-epochs 8)
"$whittle" --threads 1 finetune --config "$fixtures/bert-tiny-config.json" --tokenizer "$fixtures/tokenizer" \
  --data "$fixtures/imdb" --cache-dir "$work/cache" --max-length 64 --epochs 1 --out "$work/base" --no-eval > /dev/null
"$whittle" --threads 1 sweep quant --from "$work/base" --out "$work/serial" "${common[@]}" > /dev/null 2>&1

cd "$work"
WHITTLE="$whittle" sbatch --wait --array=0-2 --chdir="$work" --output="$work/logs/task-%a.log" \
  "$repo/scripts/slurm/sweep-array.sh" quant --from "$work/base" --out "$work/array" "${common[@]}"

# Results without what measures time, keyed and sorted.
results() {
  jq -S '[.points[] | {key, value: (.value | walk(if type == "object" then
            with_entries(select(.key | test("seconds$|per_second$") | not)) else . end))}] | sort_by(.key)' "$1"
}
echo "== tasks"
grep -h "shard\|claimed\|best QAT" "$work"/logs/task-*.log || true
echo "== points run per task"
for log in "$work"/logs/task-*.log; do echo "$(basename "$log"): $(grep -c '^== ' "$log") points"; done
keys=$(jq -r '.points[].key' "$work/array/results.json" | sort)
if [ "$keys" != "$(echo "$keys" | sort -u)" ]; then echo "smoke: a point is stored twice" >&2; exit 1; fi
if ! diff <(results "$work/serial/results.json") <(results "$work/array/results.json"); then
  echo "smoke: the array's results differ from the serial run's" >&2
  exit 1
fi
starts=$(cat "$work"/logs/task-*.log | grep -c '^== ')
echo "smoke: $(echo "$keys" | wc -l) points, started $starts times across the array, results equal the serial run's"
[ "$starts" -eq "$(echo "$keys" | wc -l)" ]
ls "$work/array/quantization.png" "$work/array/models/best-qat" > /dev/null
echo "smoke: passed"
