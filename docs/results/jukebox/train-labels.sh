#!/usr/bin/env bash
# The upsamplers conditioned on the metadata as the paper's (labels; docs/results/jukebox.md,
# "2026-12-01, session 3"): bottom | middle on session 1's codes (its bottom and middle levels),
# middle | top on the `top` preset's codes; each then scored on held-out codes with the right,
# no and shuffled conditions (tony jukebox nll).
# Usage: docs/results/jukebox/train-labels.sh <tony> <runs dir>
#   <tony>: the command (node bin/tony.js, or a snapshot of it so edits cannot reach a running job)
set -euo pipefail
tony=$1; runs=$2
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
stamp "prior-bottom-labels"
$tony train prior --data "$runs/codes.jsonl" --set level=bottom --set context=256 --batch 8 \
  --steps "${BOTTOM_STEPS:-1000}" --warmup 20 --lr 3e-3 --eval-every 100 --eval-batches 4 --threads 1 --seed 0 \
  --out "$runs/prior-bottom-labels" --no-resume 2>&1 | tr '\r' '\n' | grep -v '^train ' || true
stamp "nll bottom"
$tony jukebox nll --prior "$runs/prior-bottom-labels" --codes "$runs/codes.jsonl" --threads 1 --out "$runs/nll-bottom-labels.json"
stamp "prior-middle-labels"
$tony train prior --data "$runs/music-middle-top.jsonl" --set level=middle --set codes=256 --set context=256 --batch 8 \
  --steps "${MIDDLE_STEPS:-600}" --warmup 20 --lr 3e-3 --eval-every 100 --eval-batches 4 --threads 1 --seed 0 \
  --out "$runs/prior-middle-labels" --no-resume 2>&1 | tr '\r' '\n' | grep -v '^train ' || true
stamp "nll middle"
$tony jukebox nll --prior "$runs/prior-middle-labels" --codes "$runs/music-middle-top.jsonl" --threads 1 --out "$runs/nll-middle-labels.json"
stamp done
