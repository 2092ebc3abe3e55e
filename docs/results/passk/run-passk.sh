#!/usr/bin/env bash
# pass@k against temperature on 20 held-out tiny functions (docs/results/passk-temperature.md).
# From the repository root: docs/results/passk/run-passk.sh <work dir>   (~6 min training, ~20 min sampling + sandbox, one core)
set -euo pipefail
W=${1:?work dir}
tony() { nice -n 5 node --import tsx src/cli/main.ts "$@"; }
# 60,000 training functions (~2.3 M tokens); the 30 held-out problems are the first 30 of the FIM
# benchmark's 40 (held-out functions are drawn first, from the same seed); pass@k uses the first 20.
[ -f "$W/tiny60k/problems.jsonl" ] || tony eval tiny-generate --out "$W/tiny60k" --train 60000 --test 30 --seed 0
# Width 128, 2 layers, 4 heads, context 128 (0.4 M non-embedding parameters), BPE 512, FIM 0.5,
# 1,200 steps × 16 × 128 = 2.5 M tokens (~1 epoch).
[ -d "$W/passk-model/ckpt-1200" ] || tony train lm --data "$W/tiny60k/train" --include '**/*.py' --preset tiny \
  --set blockSize=128 --set dModel=128 --set nHead=4 --vocab 512 --steps 1200 --batch 16 --lr 2e-3 --warmup 50 \
  --eval-every 200 --threads 1 --seed 0 --fim-rate 0.5 --out "$W/passk-model"
tony eval tiny-passk --model "$W/passk-model" --problems "$W/tiny60k/problems.jsonl" --limit 20 \
  --n 200 --temperatures 0.2,0.4,0.6,0.8,1.0 --k 1,10,100 --threads 1 --out "$W/passk.json" > "$W/passk.txt"
