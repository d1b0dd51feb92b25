#!/usr/bin/env bash
# Configures and builds whittle (Release) into build/: everything, or only the
# targets given (scripts/run.sh builds just the whittle program).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
if [ $# -gt 0 ]; then
  cmake --build build --target "$@"
else
  cmake --build build
fi
