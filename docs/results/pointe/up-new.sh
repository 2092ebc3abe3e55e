#!/bin/bash
# Fifth session: the new-split upsampler (width 128, 4 blocks, 32 → +96, 9,000 steps) against the fourth
# session's tiny one (width 64, 2 blocks, old split) on the same first 48 held-out scenes and seeds,
# true 32-point inputs, Point-E's σ_max 160; then paired by up-compare.ts.
cd "$(dirname "$0")/../../.."
d=docs/results/pointe
nice -n 5 node bin/tony.js pointe eval-stage --upsampler runs/up-w128-9k --data runs/shapes --scenes 48 --threads 1 \
  --json $d/up-w128-9k.json 2>&1 | grep -v '^eval ' > $d/up-w128-9k.txt &
nice -n 5 node bin/tony.js pointe eval-stage --upsampler runs/up-tiny-9k --data runs/shapes --scenes 48 --threads 1 \
  --json $d/up-tiny-9k-48.json 2>&1 | grep -v '^eval ' > $d/up-tiny-9k-48.txt &
wait
node --import tsx $d/up-compare.ts tiny=$d/up-tiny-9k-48.json w128=$d/up-w128-9k.json > $d/up-compare.txt
