#!/usr/bin/env bash
# ONNX Runtime against whittle on a whole IMDb split: for each model, export
# it with `whittle export --format onnx`, record the batches `whittle eval`
# forms and the simulated model's logits (build/onnx_reference), run the
# export on the same batches in onnxruntime-node (scripts/onnx/imdb.mjs) with
# graph optimizations off and, with ORT_LEVELS="disabled all", also at ORT's
# default level, and write the largest logit difference and the share of
# identical predictions.
#
#   [ORT_LEVELS="disabled all"] bench/onnx_agreement.sh DATA OUT NAME=CHECKPOINT...
#
# DATA: aclImdb_v1.tar.gz; OUT: working directory, one folder per model
# (export, logits, results); the table, over every model folder in OUT, goes to
# OUT/agreement.{jsonl,csv,md}. 2 threads throughout.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="$1" out="$2"
shift 2
WHITTLE_ORT_DIR="$(bash "$repo/scripts/onnx/install.sh")"
export WHITTLE_ORT_DIR
mkdir -p "$out"
for entry in "$@"; do
  name="${entry%%=*}" checkpoint="${entry#*=}"
  work="$out/$name"
  mkdir -p "$work"
  results="$work/agreement.jsonl"
  : >"$results"
  "$repo/build/whittle" export --format onnx --from "$checkpoint" --out "$work/model.onnx" >"$work/export.json"
  "$repo/build/onnx_reference" --from "$checkpoint" --data "$data" --out "$work" --threads 2 >/dev/null
  for level in ${ORT_LEVELS:-disabled}; do
    node "$repo/scripts/onnx/imdb.mjs" --model "$work/model.onnx" --batches "$work/batches.bin" \
      --reference "$work" --optimization "$level" --threads 2 |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);
        r.name=process.argv[1];r.checkpoint=process.argv[2];r.export=JSON.parse(process.argv[3]);
        console.log(JSON.stringify(r));})' "$name" "$checkpoint" "$(cat "$work/export.json")" >>"$results"
  done
  rm -f "$work/batches.bin"  # hundreds of MB; onnx_reference writes it again
done
cat "$out"/*/agreement.jsonl >"$out/agreement.jsonl"
node "$repo/bench/onnx_tables.mjs" agreement "$out/agreement.jsonl" "$out/agreement"
