#!/bin/bash
# Continues queue.sh (which started Point-E at 01:32:58Z with a 5,400-step schedule): both models are
# cut by wall clock — Point-E at 30 min, Shap-E's diffusion process at 20 min — with schedules sized
# so that neither finishes its cosine decay (Point-E's 5,400 steps and Shap-E's 2,000 are both
# ~55 % through at the cut), so neither gets the end-of-schedule boost the other lacks.
cd /work/wt-shape8
C=/work/runs/shape-e/cmp
D=/work/runs/shape-e/shapes
watch_ckpts() { # $1 run dir, $2 keep dir
  mkdir -p "$2"
  while true; do
    for c in "$1"/ckpt-*; do
      [ -f "$c/tony-checkpoint.json" ] || continue
      n=$(basename "$c"); [ -d "$2/$n" ] || { cp -r "$c" "$2/$n.tmp" && mv "$2/$n.tmp" "$2/$n"; }
    done
    sleep 5
  done
}
watch_ckpts $C/pointe $C/pointe-keep & W=$!
START=$(date -u -d 2026-12-01T01:32:58Z +%s)
while kill -0 8572 2>/dev/null && [ $(( $(date +%s) - START )) -lt 1800 ]; do sleep 5; done
kill -- -8572 2>/dev/null
echo "pointe cut $(date -u +%FT%TZ) $(uptime)"
sleep 8; kill $W
echo "cls start $(date -u +%FT%TZ)"
nice -n 5 node bin/tony.js train pointe --stage classifier --data $D --set preset=classifier --set points=64 \
  --steps 1500 --batch 32 --lr 2e-3 --warmup 50 --eval-every 500 --eval-batches 6 --threads 1 --seed 0 --out $C/cls > $C/train-cls.txt 2>&1
echo "cls rc $? end $(date -u +%FT%TZ) $(uptime)"
echo "shape-e start $(date -u +%FT%TZ) $(uptime)"
watch_ckpts $C/shape-e $C/shape-e-keep & W=$!
nice -n 5 timeout 20m node bin/tony.js train shape-e --stage diffusion --data $D --set encoder=/work/runs/shape-e/encoder \
  --steps 2000 --batch 16 --lr 5e-4 --warmup 100 --eval-every 150 --eval-batches 4 --threads 1 --seed 0 --out $C/shape-e > $C/train-shape-e.txt 2>&1
echo "shape-e rc $? end $(date -u +%FT%TZ) $(uptime)"
sleep 8; kill $W
