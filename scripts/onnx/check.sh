#!/usr/bin/env bash
# The numeric check of the ONNX export (a ctest test): test_deploy writes each
# fixture model (float; 8-, 6- and 16-bit; l1-pruned weights and inputs, alone
# and with 8 bits) as ONNX beside padded batches and the logits whittle's
# simulated model gives for them, and compare.mjs runs every one in
# onnxruntime-node.
#
# Usage: scripts/onnx/check.sh [BUILD_DIR]   (default: build)
# Exits 77 (ctest's skip) when onnxruntime-node is not installed, unless
# WHITTLE_REQUIRE_ONNXRUNTIME=1 (scripts/test.sh sets it after installing).
# Extra compare.mjs flags may come in COMPARE_FLAGS, e.g. "--optimization all".
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
build_dir="${1:-$repo_root/build}"

WHITTLE_ORT_DIR="$(bash "$script_dir/install.sh" --where)"
export WHITTLE_ORT_DIR
if ! command -v node >/dev/null || [ ! -d "$WHITTLE_ORT_DIR/node_modules/onnxruntime-node" ]; then
  echo "onnxruntime-node is not installed in $WHITTLE_ORT_DIR: run scripts/onnx/install.sh" >&2
  if [ "${WHITTLE_REQUIRE_ONNXRUNTIME:-0}" = 1 ]; then exit 1; fi
  exit 77
fi

fixtures="$(mktemp -d)"
trap 'rm -rf "$fixtures"' EXIT
WHITTLE_ONNX_FIXTURES="$fixtures" "$build_dir/test_deploy" \
  --gtest_filter='OnnxExport.WritesTheFixturesOfTheOnnxRuntimeCheck' --gtest_brief=1

status=0
for fixture in "$fixtures"/*.json; do
  # shellcheck disable=SC2086  # COMPARE_FLAGS is a list of flags
  node "$script_dir/compare.mjs" --fixture "$fixture" ${COMPARE_FLAGS:-} || status=1
done
exit "$status"
