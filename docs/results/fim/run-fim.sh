#!/usr/bin/env bash
# FIM for free, with seeds, baselines and ablations, on the tiny-function corpus (docs/results/fim.md).
# From the repository root: docs/results/fim/run-fim.sh <work dir>   (~20 min training + ~12 min evals, one core)
# Trained runs are skipped when their last checkpoint exists (tony train lm resumes).
set -euo pipefail
W=${1:?work dir}
tony() { nice -n 5 node --import tsx src/cli/main.ts "$@"; }
[ -f "$W/tiny/problems.jsonl" ] || tony eval tiny-generate --out "$W/tiny" --train 20000 --test 40 --seed 0
# Model: 2 layers, width 64, 2 heads, context 128, BPE 512 (~0.1 M non-embedding parameters);
# 400 steps × 16 × 128 = 0.82 M tokens (~1 epoch), the same for every run.
TRAIN=(--data "$W/tiny/train" --include '**/*.py' --preset tiny --set blockSize=128 --vocab 512
       --steps 400 --batch 16 --lr 3e-3 --warmup 20 --eval-every 50 --threads 1)
run() { local out=$1; shift; [ -d "$W/$out/ckpt-400" ] || tony train lm "${TRAIN[@]}" "$@" --out "$W/$out"; }
for seed in 0 1 2; do
  run fim0-s$seed --fim-rate 0 --seed $seed
  run fim50-s$seed --fim-rate 0.5 --seed $seed
done
# Ablations at seed 0 (fim50-s0 is character-level, context-level).
run fim50-line --fim-rate 0.5 --fim-span line --seed 0
run fim50-token --fim-rate 0.5 --fim-span token --seed 0
run fim50-doc --fim-rate 0.5 --fim-level document --seed 0

E=$W/fim-evals; mkdir -p "$E"
ev() { local name=$1; shift; [ -s "$E/$name.txt" ] || tony eval tiny-infill --problems "$W/tiny" --threads 1 "$@" > "$E/$name.txt"; }
for seed in 0 1 2; do
  ev fim50-s$seed-psm --model "$W/fim50-s$seed" --mode fim
  ev fim0-s$seed-prefix --model "$W/fim0-s$seed" --mode prefix
  ev fim0-s$seed-sentinel --model "$W/fim0-s$seed" --mode fim
done
ev fim50-s0-spm --model "$W/fim50-s0" --mode fim --format spm
ev fim50-s0-prefix --model "$W/fim50-s0" --mode prefix
for a in line token doc; do ev fim50-$a-psm --model "$W/fim50-$a" --mode fim; done


# PSM-only FIM (issue 11 follow-up): the joint PSM+SPM models write the start of a function after
# <MID> (fim.md); the same runs with every FIM context in PSM test whether that confusion is the cause.
for seed in 0 1 2; do
  run fim50psm-s$seed --fim-rate 0.5 --fim-mode psm --seed $seed
  ev fim50psm-s$seed-psm --model "$W/fim50psm-s$seed" --mode fim
done
for sp in span line; do
  f=$E/loss-fim50psm-s0-$sp.txt
  [ -s "$f" ] || tony eval heldout-infill --model "$W/fim50psm-s0" --data "$W/fim50psm-s0/data" --n 100 --span $sp --threads 1 > "$f"
done
