#!/usr/bin/env bash
# Rebuilds the lab's default base model, models/bert-tiny-imdb-mlm: BERT-Tiny
# pretrained from a random initialisation by masked-language modelling on
# IMDb's unlabeled and train reviews (never the test split), in sequences of
# up to 512 tokens. It stands in for Google's pretrained BERT-Tiny, which
# cannot be downloaded here. Resumable: after a kill, run it again.
# WHITTLE_THREADS=1 leaves the other core to another job (default: all cores).
#   bash scripts/pretrain_bert_tiny.sh PATH/TO/aclImdb_v1.tar.gz [more `whittle pretrain` flags]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bash scripts/pretrain_bert_tiny.sh PATH/TO/aclImdb_v1.tar.gz [flags]}
shift
run=runs/pretrain/bert-tiny-imdb-mlm
./build/whittle --threads "${WHITTLE_THREADS:-0}" pretrain --data "$data" --max-length 512 --batch-size 64 --lr 1e-3 --warmup-ratio 0.05 \
  --steps "${WHITTLE_PRETRAIN_STEPS:-2400}" --out "$run" "$@"
mkdir -p models/bert-tiny-imdb-mlm
cp "$run"/config.json "$run"/model.safetensors "$run"/whittle.json "$run"/vocab.txt models/bert-tiny-imdb-mlm/
for f in tokenizer.json tokenizer_config.json special_tokens_map.json; do
  if [ -f "$run/$f" ]; then cp "$run/$f" models/bert-tiny-imdb-mlm/; fi
done
echo "base model: models/bert-tiny-imdb-mlm"
