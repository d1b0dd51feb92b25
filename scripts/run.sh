#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: the whole Mase lab
# (`whittle lab --profile quick`) on the IMDb sample shipped in assets/, into
# runs/lab-quick (report.md, report.html, figures). Extra arguments go to
# `whittle lab`, e.g. --profile full --data PATH/TO/aclImdb_v1.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh whittle  # tests and benchmarks are not needed for the lab
if [ $# -eq 0 ]; then
  set -- --profile quick
  # Two sweep points at a time, one thread each: about 1.3 times faster on 2 cores.
  if [ "$(nproc)" -ge 2 ]; then set -- "$@" --workers 2; fi
fi
./build/whittle lab "$@"
