#!/usr/bin/env bash
# MCNN ablations (docs/results/mcnn.md): heads 1/2/4/8, and each loss term removed in turn, from one
# base (preset fast: 4 heads, 32 channels, kernel 13, strides 4·4·4·4; 1,000 steps of 16 × 32 frames), each trained by Tony on the
# same speech corpus with the same seed; the base once more with seed 1 for the noise.
#   bash docs/results/mcnn/ablate.sh <speech corpus> <runs dir>
set -euo pipefail
data=${1:?speech corpus directory}
runs=${2:?runs directory}
train() {
  local name=$1
  shift
  node bin/tony.js train mcnn --data "$data" --steps 1000 --batch 16 --eval-every 500 --threads "${THREADS:-1}" \
    --set preset=fast "$@" --out "$runs/$name" >"$runs/$name.log" 2>&1
}
train base --seed 0
train base-seed1 --seed 1
for h in 1 2 8; do train "heads$h" --seed 0 --set heads=$h; done
for w in scWeight logMagWeight ifWeight phaseWeight; do train "no-$w" --seed 0 --set $w=0; done
# Each run scored on the same 40 held-out utterances (whole clips, not training crops): one JSON line each.
for name in base base-seed1 heads1 heads2 heads8 no-scWeight no-logMagWeight no-ifWeight no-phaseWeight; do
  node bin/tony.js eval vocoder --model "$runs/$name" --data "$data" --clips 40 --griffin-lim '' --threads "${THREADS:-1}" 2>/dev/null |
    tail -n 1 | sed "s/^{/{\"run\":\"$name\",/"
done >"$runs/ablations.jsonl"
