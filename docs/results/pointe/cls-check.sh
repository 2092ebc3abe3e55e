#!/bin/bash
# Step 1b: the judge on the new split, without and with augmentation; then its robustness on held-out true clouds.
cd /work/wt-pointe9
for v in plain aug; do
  a=$([ $v = aug ] && echo "--set jitter=0.03 --set subsets=true")
  nice -n 8 node bin/tony.js train pointe --stage classifier --data runs/shapes --set preset=classifier --set points=64 $a \
    --steps 1500 --batch 32 --lr 2e-3 --warmup 50 --eval-every 500 --eval-batches 6 --threads 1 --seed 0 --out runs/cls-$v \
    > docs/results/pointe/train-cls-$v.txt 2>&1
  cp runs/cls-$v/metrics.jsonl docs/results/pointe/train-cls-$v-metrics.jsonl
done
for v in plain aug; do for set in scenes combos arrangements; do
  nice -n 8 node --import tsx docs/results/pointe/cls-robust.ts runs/cls-$v runs/shapes $set 200
done; done > docs/results/pointe/cls-robust.txt 2>&1
