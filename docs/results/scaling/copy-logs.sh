#!/usr/bin/env bash
# Copy a sweep's logs into the repository, small: config.json, summary.json, sweep.json, and each
# size's metrics.jsonl with every validation row and every 10th training row (the fits read only
# the validation rows). Usage: docs/results/scaling/copy-logs.sh <sweep dir> <dest dir>
set -euo pipefail
S=${1:?sweep dir}; D=${2:?dest}
mkdir -p "$D"
cp "$S/sweep.json" "$S/summary.json" "$D/"
for run in "$S"/*/; do
  name=$(basename "$run"); [ -f "$run/metrics.jsonl" ] || continue
  mkdir -p "$D/$name"; cp "$run/config.json" "$D/$name/"
  python3 - "$run/metrics.jsonl" "$D/$name/metrics.jsonl" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    if not line.strip(): continue
    r = json.loads(line)
    if "val_loss" in r or r.get("step", 0) % 10 == 0: out.append(line if line.endswith("\n") else line + "\n")
open(sys.argv[2], "w").write("".join(out))
PY
done
