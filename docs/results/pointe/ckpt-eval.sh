#!/bin/bash
# Step 3: evaluate the long run's checkpoints as they come (copied to runs/long-<step> by the watcher).
# usage: ckpt-eval.sh <classifier run> <steps...>
cd /work/wt-pointe9
cls=$1; shift
for s in "$@"; do
  while [ ! -d runs/long-$s ]; do sleep 30; done
  echo "== step $s ($(date -u +%H:%M), load $(cut -d' ' -f1-3 /proc/loadavg))"
  nice -n 8 node bin/tony.js pointe eval --model runs/long-$s --data runs/shapes --scenes 24 --guidance 1 \
    --classifier $cls --threads 1 --json docs/results/pointe/long-$s.json 2>&1 | grep -v '^eval '
done
