#!/usr/bin/env bash
# The conditioning measurements of docs/results/jukebox.md, after train-conditioning.sh:
# held-out NLL with right / no / shuffled conditions (music) and lyrics (speech), then samples of
# the music top prior with and without their conditions, judged by the key and tempo estimators
# (two seeds of n requests each).
# Usage: docs/results/jukebox/measure-conditioning.sh <runs dir> <models dir> <out dir> [n]
set -euo pipefail
runs=$1; models=$2; out=$3; n=${4:-24}
mkdir -p "$out"
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
stamp "nll music prior-top"
node bin/tony.js jukebox nll --prior "$runs/prior-top" --codes "$runs/music-top.jsonl" --threads 1 --out "$out/nll-top.json"
if [ -d "$runs/prior-lyrics" ]; then
  stamp "nll speech prior-lyrics"
  node bin/tony.js jukebox nll --prior "$runs/prior-lyrics" --codes "$runs/speech-top.jsonl" --threads 1 --out "$out/nll-lyrics.json"
fi
for seed in 1 2; do
  stamp "samples, seed $seed"
  node bin/tony.js jukebox conditioning --models "$models" --n "$n" --seconds 8 --seed "$seed" --threads 1 \
    --wavs "$out/wavs-$seed" --out "$out/conditioning-top-$seed.json" 2>&1 | tr '\r' '\n' | grep -v '^sampling'
done
stamp done
