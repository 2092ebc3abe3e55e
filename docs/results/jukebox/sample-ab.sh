#!/usr/bin/env bash
# Sampling speed, before against after a change (docs/results/jukebox.md, session 10): interleaved
# rounds of the whole chain in each checkout on the same models and seed —
#   batch 48: `tony jukebox conditioning --chain --n 24` (the bundling test's workload: 24 requests,
#             each with and without its conditions), one thread;
#   batch 1:  `tony jukebox sample`, two threads;
# and a check that both sides sampled the same codes (the conditioning results must be equal, the
# sampled codes files identical).
# Usage: docs/results/jukebox/sample-ab.sh <before checkout> <after checkout> <models dir> <seconds> <rounds> <scratch dir>
# BATCHES="1" runs only the batch-1 rows (default "48 1").
set -euo pipefail
before=$(realpath "$1"); after=$(realpath "$2"); models=$(realpath "$3"); seconds=$4; rounds=$5; tmp=$6
mkdir -p "$tmp"; tmp=$(realpath "$tmp")
load() { cut -d' ' -f1-3 /proc/loadavg; }
for r in $(seq 1 "$rounds"); do
  for side in before after; do
    dir=$before; [ "$side" = after ] && dir=$after
    cd "$dir"
    if [[ " ${BATCHES:-48 1} " == *" 48 "* ]]; then
    echo "== round $r, $side ($(git rev-parse --short HEAD)), batch 48 ($(date -u +%H:%M:%S), load $(load))"
    /usr/bin/time -f "wall %e s, cpu %U+%S s, max rss %M KB" node bin/tony.js jukebox conditioning --models "$models" --n 24 \
      --seconds "$seconds" --seed 1 --chain --temperature 1 --upsampler-temperature 0.2 --threads 1 \
      --out "$tmp/chain-$side-$r.json" 2>&1 | tr '\r' '\n' | grep -E '^(wall|sampled)'
    fi
    echo "== round $r, $side ($(git rev-parse --short HEAD)), batch 1 ($(date -u +%H:%M:%S), load $(load))"
    node bin/tony.js jukebox sample --models "$models" --timbre saw --key "D minor" --tempo 120 --seconds "$seconds" \
      --seed 1 --threads 2 --temperature 1 --codes "$tmp/codes-$side-$r.json" --out "$tmp/sample-$side-$r.wav" 2>&1 |
      tr '\r' '\n' | grep -E '^tony: (top|middle|bottom):'
  done
  # The results without their timing fields, and the codes, must be the same on both sides.
  strip() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); [d.pop(k,None) for k in ('sampleSeconds',)]; print(json.dumps(d,sort_keys=True))" "$1"; }
  if [ -f "$tmp/chain-after-$r.json" ]; then
    [ "$(strip "$tmp/chain-before-$r.json")" = "$(strip "$tmp/chain-after-$r.json")" ] && echo "round $r: batch 48 results equal" || echo "round $r: BATCH 48 RESULTS DIFFER"
  fi
  cmp -s "$tmp/codes-before-$r.json" "$tmp/codes-after-$r.json" && echo "round $r: batch 1 codes identical" || echo "round $r: BATCH 1 CODES DIFFER"
done
