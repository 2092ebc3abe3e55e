#!/usr/bin/env bash
# The conditioning runs of docs/results/jukebox.md, after the top level (preset `top`):
#   tony train vqvae --data <music> --set preset=top --level top --batch 4 --steps 700 --warmup 30 --lr 3e-3 \
#     --eval-every 100 --eval-batches 4 --threads 1 --seed 0 --out <runs>/vq-top-light
# then, one after another on one thread: the top codes of the music and of the speech corpus,
# the music top prior (timbre, key, tempo) and the speech top prior with lyrics.
# Usage: docs/results/jukebox/train-conditioning.sh <music dir> <speech dir> <runs dir> <models dir>
#   <models dir> gets top/ (a link to the top level) and prior-top/, prior-lyrics/.
set -euo pipefail
music=$1; speech=$2; runs=$3; models=$4
mkdir -p "$models"
ln -sfn "$(realpath "$runs/vq-top-light")" "$models/top"
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
stamp "encode music (top)"
node bin/tony.js jukebox encode-corpus --data "$music" --models "$models" --levels top --out "$runs/music-top.jsonl" --threads 1
stamp "prior-top"
node bin/tony.js train prior --data "$runs/music-top.jsonl" --set level=top --set codes=128 --set context=128 --batch 16 \
  --steps "${PRIOR_STEPS:-600}" --warmup 30 --lr 3e-3 --eval-every 100 --eval-batches 4 --threads 1 --seed 0 --out "$runs/prior-top" --no-resume
ln -sfn "$(realpath "$runs/prior-top")" "$models/prior-top"
stamp "encode speech (top)"
node bin/tony.js jukebox encode-corpus --data "$speech" --models "$models" --levels top --out "$runs/speech-top.jsonl" --threads 1
stamp "prior-lyrics"
# context 96 codes (1.5 s): the shortest clip is 1.6 s; lyrics 224 bytes: the longest transcript is 214
node bin/tony.js train prior --data "$runs/speech-top.jsonl" --set level=top --set codes=128 --set context=96 --set lyrics=224 \
  --batch 16 --steps "${LYRICS_STEPS:-500}" --warmup 30 --lr 3e-3 --eval-every 100 --eval-batches 4 --threads 1 --seed 0 \
  --out "$runs/prior-lyrics" --no-resume
ln -sfn "$(realpath "$runs/prior-lyrics")" "$models/prior-lyrics"
stamp done
