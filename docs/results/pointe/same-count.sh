#!/bin/bash
# Fifth session: the same point count two ways, on the first 32 held-out scenes and combinations, the
# 11,000-step model at the chosen setting (Karras, guidance 1), one seed per scene:
#   (a) the base model drawing 128 points itself (--points 128);
#   (b) its 64-point sample → 32 farthest points → + 96 points of the new-split upsampler = 128.
cd "$(dirname "$0")/../../.."
m=runs/pointe-long11k; d=docs/results/pointe
nice -n 5 node bin/tony.js pointe eval --model $m --data runs/shapes --scenes 32 --guidance 1 --held-out scenes --held-out combos \
  --points 128 --threads 1 --json $d/same-count-base128.json 2>&1 | grep -v '^eval ' > $d/same-count-base128.txt &
nice -n 5 node bin/tony.js pointe eval --model $m --data runs/shapes --scenes 32 --guidance 1 --held-out scenes --held-out combos \
  --upsampler runs/up-w128-9k --threads 1 --json $d/same-count-chain.json 2>&1 | grep -v '^eval ' > $d/same-count-chain.txt &
wait
