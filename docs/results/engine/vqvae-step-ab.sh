#!/usr/bin/env bash
# A/B of the Jukebox VQ-VAE top level's training step (the pipeline's vq-top settings, one thread)
# between two checkouts, interleaved round by round so both see the same load:
#   docs/results/engine/vqvae-step-ab.sh <before checkout> <after checkout> <music corpus dir> [rounds] [steps]
# Prints each run's tokens/s as `tony train` reports it (its training steps, the first excluded by
# the trainer's own rate) and its wall seconds; then the medians and their ratio.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 <before checkout> <after checkout> <music corpus dir> [rounds 3] [steps 60]" >&2; exit 2; }
before=$1 after=$2 data=$3 rounds=${4:-3} steps=${5:-60}
[ -f "$data/manifest.jsonl" ] || { echo "$0: no manifest.jsonl in $data (make one: tony audio corpus --kind music --minutes 60 --sample-rate 8000 --seed 13 --out $data)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for side in before after; do
    root=$before; [ "$side" = after ] && root=$after
    t0=$(date +%s.%N)
    line=$(node "$root/bin/tony.js" train vqvae --data "$data" --set preset=top --level top --batch 4 --warmup 30 --lr 3e-3 \
      --steps "$steps" --eval-every 100000 --threads 1 --seed 0 --out "$tmp/$side-$r" 2>&1 | tr '\r' '\n' | grep -E '^tony: .* tokens/s' | tail -1)
    t1=$(date +%s.%N)
    tps=$(sed -E 's/.*step [0-9]+; ([0-9,]+) tokens\/s.*/\1/' <<< "$line" | tr -d ,)
    echo "round $r $side: $tps tokens/s, $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s wall ($line)"
    echo "$side $tps" >> "$tmp/rates"
  done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
med() { grep "^$1 " "$tmp/rates" | cut -d' ' -f2 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
b=$(med before) a=$(med after)
echo "median tokens/s: before $b, after $a; after / before = $(awk "BEGIN {printf \"%.2f\", $a / $b}")×"
