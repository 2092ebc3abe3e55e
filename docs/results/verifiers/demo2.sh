#!/bin/bash
# The short end-to-end demonstration recorded in docs/results/verifiers.md.
set -e
cd /work/wt-ver
D=/tmp/vt/demo2
T="--threads 1"
GPT="--set nLayer=2 --set dModel=64 --set nHead=4 --set blockSize=320"
stage() { echo "=== $(date -u +%T) $*"; }
stage generate
node bin/tony.js math generate --split train --count 4000 --max-steps 2 --seed 0 --out $D/train.jsonl
node bin/tony.js math generate --split test --count 60 --max-steps 2 --seed 0 --out $D/test.jsonl
stage train generator
node bin/tony.js train math-generator --data $D/train.jsonl --steps 5000 --batch 8 --lr 3e-3 --warmup 100 --eval-every 500 --out $D/gen $T $GPT --set pretrainSteps=1000
stage sample train problems for the verifier
node bin/tony.js math sample --model $D/gen --data $D/train.jsonl --limit 300 --n 8 --max-tokens 200 --out $D/train-samples.jsonl $T
stage sample test problems, calculator on and off
node bin/tony.js math sample --model $D/gen --data $D/test.jsonl --n 32 --max-tokens 200 --out $D/test-samples.jsonl $T --seed 1
node bin/tony.js math sample --model $D/gen --data $D/test.jsonl --n 32 --max-tokens 200 --out $D/test-samples-nocalc.jsonl $T --seed 1 --no-calculator
stage train verifiers
node bin/tony.js train verifier --data $D/train-samples.jsonl --set init=$D/gen --set level=token --steps 400 --batch 8 --lr 1e-3 --warmup 20 --eval-every 100 --out $D/ver-token $T
node bin/tony.js train verifier --data $D/train-samples.jsonl --set init=$D/gen --set level=solution --steps 400 --batch 8 --lr 1e-3 --warmup 20 --eval-every 100 --out $D/ver-solution $T
stage rank
node bin/tony.js math rank --verifier $D/ver-token --samples $D/test-samples.jsonl --data $D/test.jsonl --vote 5 $T --out $D/test-scored-token.jsonl
node bin/tony.js math rank --verifier $D/ver-solution --samples $D/test-samples.jsonl --data $D/test.jsonl --vote 5 $T
stage done
