#!/usr/bin/env bash
# Installs what is missing (apt packages, onnxruntime-node), builds, runs the
# whole test suite, then builds the library example against the installed
# package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# The ONNX export's check runs it in onnxruntime-node (a ctest test that skips
# when the package is missing; here it must run).
bash scripts/onnx/install.sh >/dev/null
export WHITTLE_REQUIRE_ONNXRUNTIME=1
ctest --test-dir build --output-on-failure --timeout 600 -j 2
bash scripts/check_library.sh
