#!/usr/bin/env bash
# The two scaling sweeps of docs/results/scaling.md (one core, niced). From the repository root:
#   docs/results/scaling/run-sweeps.sh <work dir> code    # Python standard library, ~25 min on a shared core
#   docs/results/scaling/run-sweeps.sh <work dir> math    # procedural math text, ~13 min
#   docs/results/scaling/run-sweeps.sh <work dir> math-frontier   # 10 sizes, 4.2 M tokens each, ~45 min
# Both resume where they stopped (tony scale sweep resumes per size).
set -euo pipefail
W=${1:?work dir}
DOMAIN=${2:?code or math}
mkdir -p "$W"
tony() { nice -n 5 node --import tsx src/cli/main.ts "$@"; }
SIZES=16x1,24x1,32x1,48x1,48x2,64x2,96x2,128x3
# Budget tokens·(N/N_smallest)^0.4: ~0.5 M (code) / ~0.26 M (math) tokens for 16x1, 8× that for 128x3.
COMMON=(--sizes $SIZES --tokens-exponent 0.4 --block 128 --batch 16 --vocab 1024 --eval-points 12 --parallel 1 --threads 1)

if [ "$DOMAIN" = code ]; then
  tony scale sweep "${COMMON[@]}" --tokens 524288 --data /usr/lib/python3.11 --include '**/*.py' --out "$W/sweep-code"
elif [ "$DOMAIN" = math-frontier ]; then
  # The math sweep that draws a frontier (docs/results/scaling.md, "Math"): every size gets the same
  # 4.2 M tokens — the small ones saturate, the large ones overtake them — and 16 validation points
  # per curve. 40,000 problems (problems 0–19,999 are the first sweep's: generation is per index) so
  # that 4.2 M tokens is less than one epoch.
  if [ ! -d "$W/math-text-40k" ]; then
    tony math generate --count 40000 --seed 0 --out "$W/math-40k.jsonl"
    python3 - "$W/math-40k.jsonl" "$W/math-text-40k" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rows = [json.loads(l) for l in open(src)]
for f in range(0, len(rows), 100):
    with open(os.path.join(out, f"math-{f // 100:03d}.txt"), "w") as fh:
        fh.write("".join(f"Q: {r['question']}\nA: {r['answer']}\n\n" for r in rows[f:f + 100]))
PY
  fi
  tony scale sweep --sizes 8x1,12x1,16x1,24x1,32x1,48x1,48x2,64x2,96x2,128x3 --tokens 4194304 --block 128 --batch 16 \
    --vocab 1024 --eval-points 16 --parallel 1 --threads 1 --data "$W/math-text-40k" --out "$W/sweep-math-frontier"
elif [ "$DOMAIN" = math-frontier-seed1 ]; then
  # Seed noise of the frontier sweep's final losses: two of its sizes again with seed 1 (after math-frontier;
  # its shards are copied so that both read the same tokens).
  mkdir -p "$W/sweep-math-frontier-seed1"; [ -d "$W/sweep-math-frontier-seed1/data" ] || cp -r "$W/sweep-math-frontier/data" "$W/sweep-math-frontier-seed1/"
  tony scale sweep --sizes 16x1,48x1 --tokens 4194304 --block 128 --batch 16 --vocab 1024 --eval-points 16 --parallel 1 \
    --threads 1 --seed 1 --data "$W/math-text-40k" --out "$W/sweep-math-frontier-seed1"
elif [ "$DOMAIN" = math ]; then
  # Procedural grade-school math text (`tony math generate`), 20,000 problems as "Q: …\nA: …"
  # documents, 100 per file (the train/validation split is by file).
  if [ ! -d "$W/math-text" ]; then
    tony math generate --count 20000 --seed 0 --out "$W/math.jsonl"
    python3 - "$W/math.jsonl" "$W/math-text" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rows = [json.loads(l) for l in open(src)]
for f in range(0, len(rows), 100):
    with open(os.path.join(out, f"math-{f // 100:03d}.txt"), "w") as fh:
        fh.write("".join(f"Q: {r['question']}\nA: {r['answer']}\n\n" for r in rows[f:f + 100]))
PY
  fi
  tony scale sweep "${COMMON[@]}" --tokens 262144 --data "$W/math-text" --out "$W/sweep-math"
else
  echo "domain must be code or math" >&2; exit 2
fi
