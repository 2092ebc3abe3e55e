#!/usr/bin/env bash
# After train-labels.sh (docs/results/jukebox.md, "session 3"): can the labelled upsamplers steer
# the key with the codes above held fixed (steer.ts, held-out songs' true upper codes), and do
# samples through the whole chain carry the requested key and tempo against the unconditioned
# baseline (tony jukebox conditioning --chain, two sampling seeds of n requests)?
# Usage: docs/results/jukebox/measure-labels.sh <tony> <runs dir> <models dir> <out dir> [n] [seeds]
set -euo pipefail
tony=$1; runs=$2; models=$3; out=$4; n=${5:-24}; seeds=${6:-"1 2"}
mkdir -p "$out"
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
stamp "steer: bottom upsampler, 2 s"
npx tsx docs/results/jukebox/steer.ts "$runs/codes.jsonl" "$runs/prior-bottom-labels" "$runs/vq-bottom" 2 1 "$out/steer-bottom.json"
stamp "steer: middle upsampler, 8 s"
npx tsx docs/results/jukebox/steer.ts "$runs/music-middle-top.jsonl" "$runs/prior-middle-labels" "$runs/vq-middle" 8 1 "$out/steer-middle.json"
for seed in $seeds; do
  stamp "the whole chain, seed $seed"
  $tony jukebox conditioning --models "$models" --n "$n" --seconds 4 --seed "$seed" --chain --threads 1 \
    --wavs "$out/wavs-$seed" --out "$out/conditioning-chain-$seed.json" 2>&1 | tr '\r' '\n' | grep -v '^sampling'
done
stamp done
