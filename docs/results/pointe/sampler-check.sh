#!/bin/bash
# Step 1a: does the sampler change Chamfer? The third session's grid model (1,500 steps), 16 held-out scenes, guidance 1 and 3.
cd /work/wt-pointe9
run() { name=$1; shift
  echo "== $name: $*"
  nice -n 5 node bin/tony.js pointe eval --model runs/pointe-image --data runs/shapes --scenes 16 --held-out scenes \
    --guidance 1 --guidance 3 --classifier runs/pointe-cls --threads 1 --json docs/results/pointe/sampler-$name.json "$@" 2>&1 | grep -v '^eval '
}
run karras-default
run churn0 --churn 0
run sigmamax20 --sigma-max 20
run steps128 --steps 128
run ddim --sampler ddim
run ddim-eta1 --sampler ddim --eta 1
run ddim-256 --sampler ddim --steps 256
