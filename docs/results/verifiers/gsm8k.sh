#!/bin/bash
# Real GSM8K through the same pipeline: byte-level GPT with a 1,024-byte context (97.3 % of train
# and test problems fit whole), trained on GSM8K's train split, sampled on the first 100 test problems.
set -e
cd /work/wt-ver
G=/tmp/vt/g
T="--threads 1"
GPT="--set nLayer=2 --set dModel=64 --set nHead=4 --set blockSize=1024"
tony() { node bin/tony.js "$@"; }
echo "=== $(date -u +%T) train generator on GSM8K train"
tony train math-generator --data /work/data/gsm8k/train.jsonl --steps ${GSTEPS:-600} --batch 4 --lr 3e-3 --warmup 50 --eval-every 200 --out $G/gen $T $GPT --set pretrainSteps=200
echo "=== $(date -u +%T) sample GSM8K test, calculator on and off"
tony math sample --model $G/gen --data /work/data/gsm8k/test.jsonl --limit 100 --n 2 --max-tokens 400 --out $G/test-samples.jsonl $T --seed 1
tony math sample --model $G/gen --data /work/data/gsm8k/test.jsonl --limit 100 --n 2 --max-tokens 400 --out $G/test-samples-nocalc.jsonl $T --seed 1 --no-calculator
echo "=== $(date -u +%T) sample GSM8K train (would-be verifier data)"
tony math sample --model $G/gen --data /work/data/gsm8k/train.jsonl --limit 50 --n 4 --max-tokens 400 --out $G/train-samples.jsonl $T --seed 2
echo "=== $(date -u +%T) done"
