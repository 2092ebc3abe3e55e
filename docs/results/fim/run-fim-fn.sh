#!/usr/bin/env bash
# FIM with one function per document (docs/results/fim.md, "Function-level documents"): the same
# 20,000 training functions as run-fim.sh, but each its own file, so a training context holds whole
# functions separated by <EOT> and a FIM middle lies inside one function, as the evaluation's do.
# From the repository root: docs/results/fim/run-fim-fn.sh <work dir>   (needs <work dir>/tiny from run-fim.sh)
set -euo pipefail
W=${1:?work dir}
tony() { nice -n 5 node --import tsx src/cli/main.ts "$@"; }
if [ ! -d "$W/tiny-fn/train" ]; then
  mkdir -p "$W/tiny-fn/train"
  python3 - "$W" <<'PY'
import glob, re, sys
w = sys.argv[1]
n = 0
for f in sorted(glob.glob(f'{w}/tiny/train/*.py')):
    for p in re.split(r'\n\n\n(?=def )', open(f).read()):
        if p.strip():
            open(f'{w}/tiny-fn/train/fn-{n:05d}.py', 'w').write(p.strip('\n') + '\n')
            n += 1
PY
fi
TRAIN=(--data "$W/tiny-fn/train" --include '**/*.py' --preset tiny --set blockSize=128 --vocab 512
       --steps 400 --batch 16 --lr 3e-3 --warmup 20 --eval-every 50 --threads 1)
run() { local out=$1; shift; [ -d "$W/$out/ckpt-400" ] || tony train lm "${TRAIN[@]}" "$@" --out "$W/$out"; }
E=$W/fim-evals; mkdir -p "$E"
ev() { local name=$1; shift; [ -s "$E/$name.txt" ] || tony eval tiny-infill --problems "$W/tiny" --threads 1 "$@" > "$E/$name.txt"; }
for seed in 0 1 2; do
  run fn-fim50psm-s$seed --fim-rate 0.5 --fim-mode psm --seed $seed
  ev fn-fim50psm-s$seed-psm --model "$W/fn-fim50psm-s$seed" --mode fim
  run fn-fim0-s$seed --fim-rate 0 --seed $seed
  ev fn-fim0-s$seed-prefix --model "$W/fn-fim0-s$seed" --mode prefix
done
