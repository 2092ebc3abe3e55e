#!/bin/bash
# Shap-E vs Point-E at equal wall-clock (issue 15). One process at a time, one thread, nice 5.
# keep every checkpoint the trainer writes (it keeps only the newest 2)
cd /work/wt-shape8
C=/work/runs/shape-e/cmp
D=/work/runs/shape-e/shapes
watch_ckpts() { # $1 run dir, $2 keep dir
  mkdir -p "$2"
  while true; do
    for c in "$1"/ckpt-*; do
      [ -f "$c/tony-checkpoint.json" ] || continue
      n=$(basename "$c"); [ -d "$2/$n" ] || cp -r "$c" "$2/$n.tmp" && mv "$2/$n.tmp" "$2/$n" 2>/dev/null
    done
    sleep 5
  done
}
echo "pointe start $(date -u +%FT%TZ) $(uptime)"
watch_ckpts $C/pointe $C/pointe-keep & W=$!
nice -n 5 timeout 50m node bin/tony.js train pointe --data $D --set preset=small --set points=64 --steps 5400 --batch 16 \
  --lr 1e-3 --warmup 100 --eval-every 600 --eval-batches 4 --threads 1 --seed 0 --out $C/pointe > $C/train-pointe.txt 2>&1
echo "pointe rc $? end $(date -u +%FT%TZ) $(uptime)"
sleep 8; kill $W
echo "cls start $(date -u +%FT%TZ)"
nice -n 5 node bin/tony.js train pointe --stage classifier --data $D --set preset=classifier --set points=64 \
  --steps 1500 --batch 32 --lr 2e-3 --warmup 50 --eval-every 500 --eval-batches 6 --threads 1 --seed 0 --out $C/cls > $C/train-cls.txt 2>&1
echo "cls rc $? end $(date -u +%FT%TZ) $(uptime)"
echo "shape-e start $(date -u +%FT%TZ) $(uptime)"
watch_ckpts $C/shape-e $C/shape-e-keep & W=$!
nice -n 5 timeout 35m node bin/tony.js train shape-e --stage diffusion --data $D --set encoder=/work/runs/shape-e/encoder \
  --steps 1000 --batch 16 --lr 5e-4 --warmup 100 --eval-every 200 --eval-batches 4 --threads 1 --seed 0 --out $C/shape-e > $C/train-shape-e.txt 2>&1
echo "shape-e rc $? end $(date -u +%FT%TZ) $(uptime)"
sleep 8; kill $W
