#!/usr/bin/env bash
# Installs what is missing (apt packages, onnxruntime-node), builds, runs the
# whole test suite, then builds the library example against the installed
# package.
#
# --sanitize: the same suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer (the `sanitize` preset, into build-sanitize/);
# any report fails the test it comes from. The library example is left out:
# it checks installation, not memory use.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
case "${1:-}" in
  "") ;;
  --sanitize) sanitize=1 ;;
  *) echo "test.sh: unknown option $1 (expected --sanitize or nothing)" >&2; exit 2 ;;
esac

bash scripts/setup.sh
# The ONNX export's check runs it in onnxruntime-node (a ctest test that skips
# when the package is missing; here it must run).
bash scripts/onnx/install.sh >/dev/null
export WHITTLE_REQUIRE_ONNXRUNTIME=1

if [ "$sanitize" = 1 ]; then
  cmake --preset sanitize >/dev/null
  cmake --build --preset sanitize
  ctest --preset sanitize
  exit
fi

bash scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600 -j 2
bash scripts/check_library.sh
