#!/usr/bin/env bash
# Sampling speed with and without the KV cache (docs/results/jukebox.md): interleaved rounds of
# `tony jukebox sample` on 2 threads, the same request and seed; the two must write the same codes.
# Usage: docs/results/jukebox/speed.sh <models dir> <seconds> <rounds> <scratch dir>
set -euo pipefail
models=$1; seconds=$2; rounds=$3; tmp=$4
mkdir -p "$tmp"
for r in $(seq 1 "$rounds"); do
  for mode in cached uncached; do
    flag=""; [ "$mode" = uncached ] && flag="--no-cache"
    echo "== round $r, $mode ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
    # shellcheck disable=SC2086
    node bin/tony.js jukebox sample --models "$models" --timbre saw --key "D minor" --tempo 120 --seconds "$seconds" \
      --seed 1 --threads 2 $flag --codes "$tmp/$mode-$r.json" --out "$tmp/$mode-$r.wav" 2>&1 | tr '\r' '\n' | grep -E '^tony: (top|middle|bottom):|s of music'
  done
  cmp -s "$tmp/cached-$r.json" "$tmp/uncached-$r.json" && echo "round $r: cached and uncached codes identical" || echo "round $r: CODES DIFFER"
done
