#!/bin/bash
# The resumed run's last checkpoint (11,000 steps): Point-E's sampler and DDIM η = 1, guidance 1,
# 32 scenes of each held-out set, in parallel.
cd /work/wt-pointe9
m=runs/pointe-long11k; d=docs/results/pointe
nice -n 8 node bin/tony.js pointe eval --model $m --data runs/shapes --scenes 32 --guidance 1 \
  --classifier runs/cls-aug --threads 1 --json $d/final-11000.json 2>&1 | grep -v '^eval ' > $d/final-11000.txt &
nice -n 8 node bin/tony.js pointe eval --model $m --data runs/shapes --scenes 32 --guidance 1 --sampler ddim --eta 1 \
  --classifier runs/cls-aug --threads 1 --json $d/final-11000-ddim-eta1.json 2>&1 | grep -v '^eval ' > $d/final-11000-ddim-eta1.txt &
wait
