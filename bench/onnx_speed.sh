#!/usr/bin/env bash
# Speed side by side in one run, on the same batches of one IMDb split:
# onnxruntime-node on the 8-bit and the float ONNX exports, whittle's integer
# engine (`whittle compile`, then `whittle run`) on the 8-bit model, and
# `whittle eval` of the float model. 2 threads everywhere (ORT: intra-op 2,
# inter-op 1; graph optimizations at ORT's default, 'all'). The four take
# turns, in reversed order every other round, so that each sees the same
# background load; the 1-minute load average is recorded with every pass.
#
#   bench/onnx_speed.sh DATA OUT FLOAT_CHECKPOINT W8_CHECKPOINT [ROUNDS] [LIMIT]
#
# LIMIT: a balanced subset of the test split (0: all 25,000 reviews). The ORT
# pass on the 8-bit export is also compared with whittle's logits for it (at
# ORT's 'all' level). Writes OUT/speed.jsonl and OUT/speed.{csv,md}.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="$1" out="$2" float="$3" w8="$4" rounds="${5:-3}" limit="${6:-0}"
whittle="$repo/build/whittle"
WHITTLE_ORT_DIR="$(bash "$repo/scripts/onnx/install.sh")"
export WHITTLE_ORT_DIR
mkdir -p "$out"
"$whittle" export --format onnx --from "$float" --out "$out/float.onnx" >/dev/null
"$whittle" export --format onnx --from "$w8" --out "$out/w8.onnx" >/dev/null
"$whittle" compile --from "$w8" --out "$out/w8.whittle" >/dev/null
# The batches whittle eval and whittle run form (the same plan for every model),
# and the 8-bit model's logits for them.
"$repo/build/onnx_reference" --from "$w8" --data "$data" --limit "$limit" --out "$out/reference" --threads 2 >/dev/null

measure() {
  case "$1" in
    ort-w8) node "$repo/scripts/onnx/imdb.mjs" --model "$out/w8.onnx" --batches "$out/reference/batches.bin" --threads 2 \
              --reference "$out/reference" ;;
    ort-float) node "$repo/scripts/onnx/imdb.mjs" --model "$out/float.onnx" --batches "$out/reference/batches.bin" --threads 2 ;;
    whittle-run-w8) "$whittle" --threads 2 run --model "$out/w8.whittle" --data "$data" --limit "$limit" 2>/dev/null ;;
    whittle-eval-float) "$whittle" --threads 2 eval --from "$float" --data "$data" --limit "$limit" 2>/dev/null ;;
  esac
}

results="$out/speed.jsonl"
: >"$results"
order=(ort-w8 whittle-run-w8 whittle-eval-float ort-float)
for ((round = 1; round <= rounds; ++round)); do
  if ((round % 2 == 0)); then turn=("${order[@]}"); else turn=(); for ((i = ${#order[@]} - 1; i >= 0; --i)); do turn+=("${order[i]}"); done; fi
  for engine in "${turn[@]}"; do
    load="$(cut -d' ' -f1 /proc/loadavg)"
    measure "$engine" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);
      console.log(JSON.stringify({round:+process.argv[1],engine:process.argv[2],load_before:+process.argv[3],
        examples:r.examples,seconds:r.seconds,tokens_per_second:r.tokens_per_second,accuracy:r.accuracy,
        agreement_with_whittle:r.agreement,max_abs_diff:r.max_abs_diff}));})' \
      "$round" "$engine" "$load" >>"$results"
    tail -1 "$results" >&2
  done
done
node "$repo/bench/onnx_tables.mjs" speed "$results" "$out/speed"
