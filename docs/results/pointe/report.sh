#!/bin/bash
# Fifth session, step 2 of the bundling rule: the ONE setting operating-point.sh chose on the validation
# scenes 32–95 (by its written rule: Point-E's Karras sampler, guidance 1) scored on the REPORTING scenes
# of every held-out set: scenes 0–31 (as the fourth session) and 96 to the end of each set. Pooled by
# pool.ts (binomial s.e. for caption accuracy).
cd "$(dirname "$0")/../../.."
m=runs/pointe-long11k; d=docs/results/pointe
nice -n 5 node bin/tony.js pointe eval --model $m --data runs/shapes --scenes 32 --guidance 1 \
  --classifier runs/cls-aug --threads 1 --json $d/report-0.json 2>&1 | grep -v '^eval ' > $d/report-0.txt &
nice -n 5 node bin/tony.js pointe eval --model $m --data runs/shapes --from 96 --scenes 1000 --guidance 1 \
  --classifier runs/cls-aug --threads 1 --json $d/report-96.json 2>&1 | grep -v '^eval ' > $d/report-96.txt &
wait
node --import tsx $d/pool.ts $d/report-0.json $d/report-96.json > $d/report-pooled.txt
