#!/usr/bin/env bash
# After the three VQ-VAE levels (train-vqvae.sh): encode a 21.6-minute subset of the corpus (the
# first 150 songs; encoding all 60 minutes three times over costs ~15 CPU-minutes here) and train
# the three priors, one after another on one thread.
# Usage: docs/results/jukebox/train-priors.sh <music dir> <runs dir> <models dir>
#   <models dir> gets bottom/ middle/ top/ (links to the VQ-VAE runs) and prior-{top,middle,bottom}/.
set -euo pipefail
data=$1; runs=$2; models=$3
steps=${STEPS:-300}
mkdir -p "$models"
for l in bottom middle top; do ln -sfn "$(realpath "$runs/vq-$l")" "$models/$l"; done
head -150 "$data/manifest.jsonl" > "$data/subset150.jsonl"   # the first 150 songs of the corpus manifest
echo "== encode ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
node bin/tony.js jukebox encode-corpus --data "$data/subset150.jsonl" --models "$models" --out "$runs/codes.jsonl" --threads 1
declare -A args=(
  [top]="--set level=top --set context=128 --batch 16"
  [middle]="--set level=middle --set context=256 --batch 8"
  [bottom]="--set level=bottom --set context=256 --batch 8"
)
for l in top middle bottom; do
  echo "== prior-$l: ${args[$l]} ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  # shellcheck disable=SC2086
  node bin/tony.js train prior --data "$runs/codes.jsonl" ${args[$l]} --steps "$steps" --warmup 20 --lr 3e-3 \
    --eval-every 100 --eval-batches 4 --threads 1 --seed 0 --out "$runs/prior-$l" --no-resume
  ln -sfn "$(realpath "$runs/prior-$l")" "$models/prior-$l"
done
echo "== done $(date -u +%H:%M:%S)"
