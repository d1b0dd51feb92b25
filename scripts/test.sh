#!/usr/bin/env bash
# Installs what is missing, builds, runs the whole test suite, then builds the
# library example against the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600 -j 2
bash scripts/check_library.sh
