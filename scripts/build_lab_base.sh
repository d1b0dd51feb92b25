#!/usr/bin/env bash
# Rebuilds models/bert-tiny-imdb-mlm-cls, the default base model of `whittle
# lab`: the masked-LM checkpoint models/bert-tiny-imdb-mlm (rebuilt by
# scripts/pretrain_bert_tiny.sh) fine-tuned on all 25,000 IMDb train reviews
# for one epoch, with its last layer's attention query/key drawn anew first.
# Masked-LM pretraining leaves that layer's [CLS] query attending to a few
# positions; fresh query/key weights give back the uniform average over the
# review that a sentiment classifier builds on (docs/results/pretrain.md).
# One thread, as the committed model was made: thread counts change float
# summation order, so other counts give a slightly different model.
# About 8 minutes on one core.
#   bash scripts/build_lab_base.sh PATH/TO/aclImdb_v1.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bash scripts/build_lab_base.sh PATH/TO/aclImdb_v1.tar.gz}
./build/whittle --threads 1 finetune --from models/bert-tiny-imdb-mlm --reinit-query-key 1 --data "$data" \
  --epochs 1 --batch-size 16 --lr 5e-4 --weight-decay 0.01 --warmup-ratio 0.06 --seed 0 \
  --out models/bert-tiny-imdb-mlm-cls
echo "lab base model: models/bert-tiny-imdb-mlm-cls"
