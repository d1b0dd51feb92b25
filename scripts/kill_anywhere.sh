#!/usr/bin/env bash
# Kills sweeps, the lab and pretraining with SIGKILL at KILLS random moments
# each (default 20), at random delays and as they write results and
# checkpoints, resuming every time; each run's results must equal an
# uninterrupted run's (tests/cli/kill_anywhere_test.cpp, which CI runs with
# fewer kills). Prints where the kills landed and how long each part took.
#   scripts/kill_anywhere.sh [KILLS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-20}"
seed="${2:-$RANDOM$RANDOM}"
scripts/build.sh whittle test_cli >/dev/null
report="$(mktemp -t kill-anywhere-XXXXXX.jsonl)"
echo "kill anywhere: $kills kills per test, seed $seed (report: $report)"
status=0
KILL_ANYWHERE_KILLS="$kills" KILL_ANYWHERE_SEED="$seed" KILL_ANYWHERE_REPORT="$report" \
  build/test_cli --gtest_filter='KillAnywhere.*' --gtest_brief=1 || status=$?
echo
echo "kills by test and where they landed:"
jq -r 'select(.landed) | "\(.test)\t\(.landed)"' "$report" | sort | uniq -c
echo
echo "totals:"
jq -r 'select(.seconds and (.landed | not)) | "\(.test): \(.kills) kills over \(.rounds) rounds in \(.seconds | floor) s"' "$report"
jq -s '[.[] | select(.landed)] | length | "all tests: \(.) kills"' -r "$report"
exit "$status"
