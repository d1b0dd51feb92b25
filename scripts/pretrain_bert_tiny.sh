#!/usr/bin/env bash
# Rebuilds models/bert-tiny-imdb-mlm: BERT-Tiny pretrained from a random
# initialisation by masked-language modelling on IMDb's unlabeled and train
# reviews (never the test split). It stands in for Google's pretrained
# BERT-Tiny, which cannot be downloaded here.
#
# Two phases, as BERT's own recipe has (short sequences first, then long):
#   1. sequences of 32 tokens, 18,000 steps of 32 sequences;
#   2. sequences of 128 tokens, 2,000 steps of 32 sequences, from phase 1.
# Getting off the masked-LM "unigram plateau" takes optimizer steps, not tokens
# (docs/results/pretrain.md, "Short sequences get off the plateau"): a step of
# 32 x 32 tokens costs a fifth of one of 64 x 128, so phase 1 buys many more
# steps in the same time.
# About an hour on one core. Resumable: after a kill, run it again.
# WHITTLE_THREADS=1 leaves the other core to another job (default: all cores).
#   bash scripts/pretrain_bert_tiny.sh PATH/TO/aclImdb_v1.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bash scripts/pretrain_bert_tiny.sh PATH/TO/aclImdb_v1.tar.gz}
runs=runs/pretrain
phase() {  # name, then `whittle pretrain` flags
  local name=$1
  shift
  ./build/whittle --threads "${WHITTLE_THREADS:-0}" pretrain --data "$data" --batch-size 32 --warmup-ratio 0.05 \
    --out "$runs/$name" "$@"
}
phase bert-tiny-imdb-mlm-p32 --config assets/bert-tiny/config.json --max-length 32 --lr 1e-3 --steps 18000
phase bert-tiny-imdb-mlm --from "$runs/bert-tiny-imdb-mlm-p32" --max-length 128 --lr 5e-4 --steps 2000

run=$runs/bert-tiny-imdb-mlm
rm -rf models/bert-tiny-imdb-mlm
mkdir -p models/bert-tiny-imdb-mlm
cp "$run"/config.json "$run"/model.safetensors "$run"/whittle.json "$run"/vocab.txt models/bert-tiny-imdb-mlm/
for f in tokenizer.json tokenizer_config.json special_tokens_map.json; do
  if [ -f "$run/$f" ]; then cp "$run/$f" models/bert-tiny-imdb-mlm/; fi
done
echo "pretrained encoder: models/bert-tiny-imdb-mlm (scripts/build_lab_base.sh turns it into the lab's base classifier)"
