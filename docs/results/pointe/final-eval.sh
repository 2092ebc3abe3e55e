#!/bin/bash
# The long run's last checkpoint, scored in full (fourth session): usage final-eval.sh <step>
cd /work/wt-pointe9
s=$1; m=runs/long-$s; d=docs/results/pointe
# Point-E's sampler, guidance 1 and 3, 32 scenes of each held-out set, the augmented classifier
nice -n 8 node bin/tony.js pointe eval --model $m --data runs/shapes --scenes 32 --guidance 1 --guidance 3 \
  --classifier runs/cls-aug --threads 1 --json $d/final-$s.json 2>&1 | grep -v '^eval ' > $d/final-$s.txt &
# DDIM η = 1 (the sampler check's best), guidance 1, then the tiny upsampler chained after Point-E's sampler
( nice -n 8 node bin/tony.js pointe eval --model $m --data runs/shapes --scenes 32 --guidance 1 --held-out scenes \
    --held-out combos --held-out arrangements --sampler ddim --eta 1 --classifier runs/cls-aug --threads 1 \
    --json $d/final-$s-ddim-eta1.json 2>&1 | grep -v '^eval ' > $d/final-$s-ddim-eta1.txt
  nice -n 8 node bin/tony.js pointe eval --model $m --data runs/shapes --scenes 32 --guidance 1 --held-out scenes \
    --held-out combos --upsampler runs/up-tiny-9k --threads 1 --json $d/final-$s-chain.json 2>&1 | grep -v '^eval ' > $d/final-$s-chain.txt ) &
wait
