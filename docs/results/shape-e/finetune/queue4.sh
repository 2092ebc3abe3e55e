#!/bin/bash
# After queue3.sh: two more fine-tune arms from the same encoder, same steps and seed — the default
# rendering weight (1) without views (the control), and with two 32² input views (patch 8).
cd /work/wt-shape8
C=/work/runs/shape-e/cmp
D=/work/runs/shape-e/shapes
while kill -0 9004 2>/dev/null; do sleep 10; done
for arm in "render1" "render1-views2"; do
  extra=""; [ $arm = render1-views2 ] && extra="--set inputViews=2 --set patch=8"
  echo "ft $arm start $(date -u +%FT%TZ) $(uptime)"
  nice -n 5 node bin/tony.js train shape-e --stage encoder --data $D --set init=/work/runs/shape-e/encoder --set renderWeight=1 $extra \
    --steps 400 --batch 8 --lr 3e-4 --warmup 20 --eval-every 200 --eval-batches 4 --threads 1 --seed 0 --out $C/ft-$arm > $C/train-ft-$arm.txt 2>&1
  echo "ft $arm rc $? end $(date -u +%FT%TZ) $(uptime)"
  nice -n 5 node bin/tony.js shape-e eval --model $C/ft-$arm --data $D --scenes 12 --grid 64 --size 96 --threads 1 \
    --renders $C/ft-$arm-renders --json $C/eval-ft-$arm.json > $C/eval-ft-$arm.txt 2>&1
  echo "eval ft $arm rc $? end $(date -u +%FT%TZ) $(uptime)"
done
