#!/usr/bin/env bash
# pass@k against temperature on the 40 held-out tiny functions (docs/results/passk-temperature.md).
# From the repository root, after docs/results/fim/run-fim.sh (its fim50-s0 run is the model):
#   docs/results/passk/run-passk.sh <work dir>
set -euo pipefail
W=${1:?work dir}
nice -n 5 node --import tsx src/cli/main.ts eval tiny-passk --model "$W/fim50-s0" --problems "$W/tiny/problems.jsonl" \
  --n 200 --temperatures 0.2,0.4,0.6,0.8,1.0 --k 1,10,100 --threads 1 --out "$W/passk.json" > "$W/passk.txt"
