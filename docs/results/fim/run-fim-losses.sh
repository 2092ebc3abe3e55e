#!/usr/bin/env bash
# Infilling loss of the span/level ablations of run-fim.sh (after it). From the repository root:
#   docs/results/fim/run-fim-losses.sh <work dir>
set -euo pipefail
W=${1:?work dir}
tony() { nice -n 5 node --import tsx src/cli/main.ts "$@"; }
E=$W/fim-evals; mkdir -p "$E"
# Infilling loss of the span/level ablations (tony eval heldout-infill: mean NLL of the middle + <EOT>
# on 100 held-out validation documents' random 2–12 character spans and whole lines), where success
# rates at this size are all near zero.
for r in fim50-s0 fim50-line fim50-token fim50-doc fim0-s0; do
  for sp in span line; do
    f=$E/loss-$r-$sp.txt
    [ -s "$f" ] || tony eval heldout-infill --model "$W/$r" --data "$W/$r/data" --n 100 --span $sp --threads 1 > "$f"
  done
done
