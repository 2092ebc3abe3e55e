#!/usr/bin/env bash
# The chain for the conditioning measurement through the bottom decoder (docs/results/jukebox.md):
# the middle upsampler retrained on the new top level's codes (middle | top); the bottom upsampler
# (bottom | middle) and the bottom and middle levels are session 1's (the middle level is unchanged).
# Usage: docs/results/jukebox/train-chain.sh <music dir> <runs dir> <models dir> <session-1 runs dir>
set -euo pipefail
music=$1; runs=$2; models=$3; old=$4
for l in bottom middle; do ln -sfn "$(realpath "$old/vq-$l")" "$models/$l"; done
ln -sfn "$(realpath "$old/prior-bottom")" "$models/prior-bottom"
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
stamp "encode music (middle, top)"
node bin/tony.js jukebox encode-corpus --data "$music" --models "$models" --levels middle,top --out "$runs/music-middle-top.jsonl" --threads 1
stamp "prior-middle"
node bin/tony.js train prior --data "$runs/music-middle-top.jsonl" --set level=middle --set codes=256 --set context=256 --batch 8 \
  --steps "${STEPS:-300}" --warmup 20 --lr 3e-3 --eval-every 100 --eval-batches 4 --threads 1 --seed 0 --out "$runs/prior-middle" --no-resume
ln -sfn "$(realpath "$runs/prior-middle")" "$models/prior-middle"
stamp "conditioning through the chain"
node bin/tony.js jukebox conditioning --models "$models" --n 12 --seconds 4 --seed 1 --chain --threads 1 --out "$runs/conditioning-chain.json" \
  2>&1 | tr '\r' '\n' | grep -v '^sampling'
stamp done
