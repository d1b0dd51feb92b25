#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the shipped IMDb
# sample: BERT-Tiny from a random initialisation, fine-tuned and evaluated.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/whittle finetune --out runs/quick/model "$@"
