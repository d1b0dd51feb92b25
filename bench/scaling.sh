#!/usr/bin/env bash
# Data-parallel training on this machine, in one run: 1 process x 2 threads
# against 2 ranks x 1 thread (mpirun over loopback), alternating, on the same
# IMDb subset, for BERT-Tiny (from a trained model) and BERT-base (random
# initialisation, a few steps); then the gradient-sum cost per step
# (bench/allreduce_cost) for both. Writes JSON lines to OUT_DIR.
# Usage: bench/scaling.sh IMDB_TARBALL BERT_TINY_MODEL OUT_DIR [ROUNDS]
# (TINY_LIMIT and BASE_LIMIT set how many reviews each trains on.)
set -euo pipefail
cd "$(dirname "$0")/.."
data=$1 tiny_model=$2 out=$3 rounds=${4:-2}
tiny_limit=${TINY_LIMIT:-4000} base_limit=${BASE_LIMIT:-48}
whittle=$(pwd)/build/whittle
mkdir -p "$out"
mpirun=(mpirun -np 2 --oversubscribe --allow-run-as-root --bind-to none -x MASTER_PORT=29660 -x OMP_WAIT_POLICY=PASSIVE)

# One epoch of training on LIMIT reviews, evaluation off; prints rank 0's epoch line.
train() {
  local how=$1 limit=$2; shift 2
  local flags=(finetune --data "$data" --train-limit "$limit" --no-eval --epochs 1 --out "$out/scratch-model" "$@")
  if [ "$how" = ranks ]; then
    "${mpirun[@]}" "$whittle" --threads 1 "${flags[@]}" 2> "$out/last-run.log" | head -n 1
  else
    OMP_WAIT_POLICY=PASSIVE "$whittle" --threads 2 "${flags[@]}" 2> "$out/last-run.log" | head -n 1
  fi
}

: > "$out/training.jsonl"
for round in $(seq "$rounds"); do
  for how in single ranks; do
    [ $((round % 2)) -eq 0 ] && how=$([ "$how" = single ] && echo ranks || echo single)
    line=$(train "$how" "$tiny_limit" --from "$tiny_model")
    echo "{\"model\":\"bert-tiny\",\"round\":$round,\"how\":\"$how\",\"epoch\":$line}" | tee -a "$out/training.jsonl"
  done
done
for how in single ranks; do
  line=$(train "$how" "$base_limit" --config configs/bert-base-config.json --tokenizer assets/bert-base-uncased --batch-size 8)
  echo "{\"model\":\"bert-base\",\"round\":1,\"how\":\"$how\",\"epoch\":$line}" | tee -a "$out/training.jsonl"
done
rm -rf "$out/scratch-model" "$out/last-run.log"

: > "$out/allreduce.jsonl"
build/allreduce_cost --data "$data" --steps 20 | tee -a "$out/allreduce.jsonl"
rows=$(head -n 1 "$out/allreduce.jsonl" | sed 's/.*"distinct_tokens_per_batch":\([0-9.]*\).*/\1/')
build/allreduce_cost --config configs/bert-base-config.json --rows "${rows%.*}" --steps 5 | tee -a "$out/allreduce.jsonl"
