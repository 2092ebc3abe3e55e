#!/bin/bash
# After queue2.sh: the comparison's evaluation, then the rendering-loss fine-tune A/B and its evaluation.
cd /work/wt-shape8
C=/work/runs/shape-e/cmp
D=/work/runs/shape-e/shapes
while kill -0 11608 2>/dev/null; do sleep 10; done
# evaluate every other Shap-E checkpoint (300, 600, …) and the last: 24 scenes each cost minutes
mkdir -p $C/shape-e-skip
last=$(ls $C/shape-e-keep | sed 's/ckpt-//' | sort -n | tail -1)
for c in $C/shape-e-keep/ckpt-*; do n=${c##*-}; [ $((n % 300)) -ne 0 ] && [ "$n" != "$last" ] && mv $c $C/shape-e-skip/; done
ls $C/shape-e-keep
echo "compare start $(date -u +%FT%TZ) $(uptime)"
nice -n 5 node --import tsx docs/results/shape-e/compare.ts $C $D $C/cls $C/compare.jsonl 24 3 > $C/compare.txt 2>&1
echo "compare rc $? end $(date -u +%FT%TZ) $(uptime)"
for w in 0 4; do
  echo "ft render$w start $(date -u +%FT%TZ) $(uptime)"
  nice -n 5 node bin/tony.js train shape-e --stage encoder --data $D --set init=/work/runs/shape-e/encoder --set renderWeight=$w \
    --steps 400 --batch 8 --lr 3e-4 --warmup 20 --eval-every 200 --eval-batches 4 --threads 1 --seed 0 --out $C/ft-render$w > $C/train-ft-render$w.txt 2>&1
  echo "ft render$w rc $? end $(date -u +%FT%TZ) $(uptime)"
done
for w in 0 4; do
  nice -n 5 node bin/tony.js shape-e eval --model $C/ft-render$w --data $D --scenes 12 --grid 64 --size 96 --threads 1 \
    --renders $C/ft-render$w-renders --json $C/eval-ft-render$w.json > $C/eval-ft-render$w.txt 2>&1
  echo "eval ft render$w rc $? end $(date -u +%FT%TZ) $(uptime)"
done
