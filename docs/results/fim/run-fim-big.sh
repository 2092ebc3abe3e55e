#!/usr/bin/env bash
# FIM vs non-FIM at the pass@k model's size and budget (width 128, 2 layers, 2.5 M tokens), where
# infilling succeeds; after docs/results/passk/run-passk.sh (whose model is the FIM-0.5 one).
# From the repository root: docs/results/fim/run-fim-big.sh <work dir>   (~7 min training + ~3 min evals)
set -euo pipefail
W=${1:?work dir}
tony() { nice -n 5 node --import tsx src/cli/main.ts "$@"; }
E=$W/fim-evals; mkdir -p "$E"
ev() { local name=$1; shift; [ -s "$E/$name.txt" ] || tony eval tiny-infill --problems "$W/tiny60k" --threads 1 "$@" > "$E/$name.txt"; }
ev big-fim50-psm --model "$W/passk-model" --mode fim
ev big-fim50-prefix --model "$W/passk-model" --mode prefix
[ -d "$W/passk-model-fim0/ckpt-1200" ] || tony train lm --data "$W/tiny60k/train" --include '**/*.py' --preset tiny \
  --set blockSize=128 --set dModel=128 --set nHead=4 --vocab 512 --steps 1200 --batch 16 --lr 2e-3 --warmup 50 \
  --eval-every 200 --threads 1 --seed 0 --fim-rate 0 --out "$W/passk-model-fim0"
ev big-fim0-prefix --model "$W/passk-model-fim0" --mode prefix
ev big-fim0-sentinel --model "$W/passk-model-fim0" --mode fim
