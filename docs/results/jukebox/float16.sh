#!/usr/bin/env bash
# Float16 against float32 for the six models of a chain (docs/results/jukebox.md, "session 8"): export
# each model both ways, then score both on the same held-out songs — the levels by spectral convergence
# (tony jukebox eval, 38 held-out songs), the priors by held-out NLL (tony jukebox nll, nats per code).
#
#   docs/results/jukebox/float16.sh <models dir> <data dir> <codes-mt.jsonl> <codes-bm.jsonl> <out dir>
#
# Writes <out>/{float32,float16}/<model>/ (the exports) and prints one line per model and dtype.
set -euo pipefail
if [ $# -ne 5 ]; then
  echo "usage: $0 <models dir> <data dir> <codes-mt.jsonl> <codes-bm.jsonl> <out dir>" >&2; exit 2
fi
for f in "$1" "$2" "$3" "$4"; do [ -e "$f" ] || { echo "$0: '$f' does not exist" >&2; exit 2; }; done
models=$1 data=$2 mt=$3 bm=$4 out=$5
tony=${TONY:-node bin/tony.js}
for dt in float32 float16; do
  for m in bottom middle top prior-top prior-middle prior-bottom; do
    $tony export --run "$(realpath "$models/$m")" --out "$out/$dt/$m" --dtype "$dt" > /dev/null
  done
  du -sb "$out/$dt" | awk -v dt="$dt" '{ printf "%s: %.2f MB in all\n", dt, $1 / 1e6 }'
done
for dt in float32 float16; do
  $tony jukebox eval "$out/$dt/bottom" "$out/$dt/middle" "$out/$dt/top" --data "$data" --songs 38 --threads 1 \
    --out "$out/sc-$dt.json" 2>/dev/null | sed "s|^|$dt |"
  for p in top:"$mt" middle:"$mt" bottom:"$bm"; do
    $tony jukebox nll --prior "$out/$dt/prior-${p%%:*}" --codes "${p#*:}" --threads 1 --out "$out/nll-${p%%:*}-$dt.json" 2>/dev/null |
      sed "s|^|$dt prior-${p%%:*} |"
  done
done
