#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz, then fuzzes every reader for
# SECONDS (default 60) starting from fuzz/corpus/<target> and
# fuzz/regressions/<target>, and prints each target's executions and
# coverage from libFuzzer's final stats.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# The corpus in the repository is not changed: new inputs go to
# build-fuzz/fuzz-runs/<target>/corpus, a crashing input to
# build-fuzz/fuzz-runs/<target>/ (crash-*, leak-*, timeout-*, oom-*). At most
# WHITTLE_FUZZ_JOBS targets (1 or 2, default 1) run at once, niced.
# WHITTLE_FUZZ_RUNS=N stops each target after N executions (SECONDS still
# bounds it). fuzz/dict/<target>.dict is the target's dictionary and
# fuzz/options/<target> holds extra libFuzzer flags, one per line.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
build=${WHITTLE_FUZZ_BUILD:-build-fuzz}
jobs=${WHITTLE_FUZZ_JOBS:-1}
if [ "$jobs" -gt 2 ]; then jobs=2; fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for source in fuzz/*_fuzz.cpp; do
    name=$(basename "$source" _fuzz.cpp)
    targets+=("$name")
  done
fi

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWHITTLE_FUZZ=ON >/dev/null
nice -n 5 cmake --build "$build" -j2 --target fuzz_targets

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1

runs="$build/fuzz-runs"

fuzz_target() {
  local name=$1 work="$runs/$1"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  echo 1 >"$work/status"
  if [ -d "fuzz/corpus/$name" ]; then cp -r "fuzz/corpus/$name/." "$work/corpus/"; fi
  local inputs=("$work/corpus")
  if [ -d "fuzz/regressions/$name" ]; then inputs+=("fuzz/regressions/$name"); fi
  local flags=()
  if [ -f "fuzz/dict/$name.dict" ]; then flags+=("-dict=fuzz/dict/$name.dict"); fi
  if [ -f "fuzz/options/$name" ]; then mapfile -t -O "${#flags[@]}" flags <"fuzz/options/$name"; fi
  if [ -n "${WHITTLE_FUZZ_RUNS:-}" ]; then flags+=("-runs=$WHITTLE_FUZZ_RUNS"); fi
  local status=0
  nice -n 10 "$build/fuzz/${name}_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$work/" "${flags[@]}" "${inputs[@]}" >"$work/log" 2>&1 || status=$?
  echo "$status" >"$work/status"
}

summary_line() {
  local name=$1 work="$runs/$1"
  local status executions speed coverage features
  status=$(cat "$work/status")
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  coverage=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 | cut -d' ' -f2)
  features=$(grep -o 'ft: [0-9]*' "$work/log" | tail -1 | cut -d' ' -f2)
  local result="ok"
  if [ "$status" -ne 0 ]; then result="FAILED (exit $status, see $work/log)"; fi
  printf '%-16s %12s %10s %8s %8s  %s\n' "$name" "${executions:-?}" "${speed:-?}" "${coverage:-?}" \
    "${features:-?}" "$result"
}

# In groups of $jobs, each group waiting for its slowest.
for ((first = 0; first < ${#targets[@]}; first += jobs)); do
  for name in "${targets[@]:first:jobs}"; do
    echo "fuzzing $name for ${seconds}s"
    fuzz_target "$name" &
  done
  wait
done

printf '\n%-16s %12s %10s %8s %8s  %s\n' target executions "execs/s" cov ft result
failed=0
for name in "${targets[@]}"; do
  summary_line "$name"
  if [ "$(cat "$runs/$name/status")" -ne 0 ]; then failed=1; fi
done
exit "$failed"
