#!/usr/bin/env bash
# Installs onnxruntime-node (CPU binaries, about 300 MB) once, outside the
# repository, and prints the directory to hand the node scripts as
# WHITTLE_ORT_DIR. Offline-safe: the package's install script, which would
# download CUDA binaries from NuGet, is skipped; the CPU build ships inside the
# npm tarball. Idempotent.
#
# Usage: scripts/onnx/install.sh [--where]
#   directory: $WHITTLE_ORT_DIR, or a cache dir; --where only prints it.
set -euo pipefail

version="1.31.1"
dir="${WHITTLE_ORT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/whittle/onnxruntime-node-$version}"
installed="$dir/node_modules/onnxruntime-node/package.json"
if [ "${1:-}" = "--where" ]; then
  echo "$dir"
  exit 0
fi

if [ ! -f "$installed" ] || ! grep -q "\"version\": \"$version\"" "$installed"; then
  if ! command -v npm >/dev/null; then
    echo "scripts/onnx/install.sh: npm is missing: run scripts/setup.sh" >&2
    exit 1
  fi
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
  echo "installing onnxruntime-node@$version into $dir" >&2
  (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --ignore-scripts --no-audit --no-fund \
     "onnxruntime-node@$version" >&2)
fi
echo "$dir"
