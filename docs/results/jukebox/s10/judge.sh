#!/usr/bin/env bash
# Session 10's test (s10/hypothesis.txt), once seeds 1-16 of stage chain are all written: pool them,
# then apply session 5's bundling rule with this run's own bars (judge.py).
#   RUNS=/work/juke/runs/s10 LOGS=docs/results/jukebox/s10 docs/results/jukebox/s10/judge.sh
set -euo pipefail
: "${RUNS:?}" "${LOGS:?}"
cd "$(dirname "$0")/../../../.."
seeds=$(seq 1 16)
missing=$(for s in $seeds; do [ -f "$LOGS/chain-$s.json" ] || printf '%s ' "$s"; done)
[ -z "$missing" ] || { echo "judge.sh: seeds not yet sampled: $missing(the test pools all 16)" >&2; exit 1; }
npx tsx docs/results/jukebox/paired.ts $(for s in $seeds; do echo "$LOGS/chain-$s.json"; done) | tee "$LOGS/paired-chain.log"
npx tsx docs/results/jukebox/notes.ts --pool $(for s in $seeds; do echo "$RUNS/chain-wavs-$s"; done) | tee "$LOGS/notes-chain.log"
python3 docs/results/jukebox/judge.py "$LOGS/ceiling.log" "$LOGS/diagnose-top.log" "$LOGS/paired-chain.log" "$LOGS/notes-chain.log" |
  tee "$LOGS/judge.log"
