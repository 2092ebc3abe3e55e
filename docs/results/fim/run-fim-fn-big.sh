#!/usr/bin/env bash
# The larger pair of run-fim-big.sh (width 128, 2 layers, 1,200 steps × 16 × 128) on function-level
# documents: the 60,000-function corpus split one function per file, PSM-only FIM 0.5 against FIM 0.
# From the repository root: docs/results/fim/run-fim-fn-big.sh <work dir>   (needs <work dir>/tiny60k)
set -euo pipefail
W=${1:?work dir}
tony() { nice -n 5 node --import tsx src/cli/main.ts "$@"; }
if [ ! -d "$W/tiny60k-fn/train" ]; then
  mkdir -p "$W/tiny60k-fn/train"
  python3 - "$W" <<'PY'
import glob, re, sys
w = sys.argv[1]
n = 0
for f in sorted(glob.glob(f'{w}/tiny60k/train/*.py')):
    for p in re.split(r'\n\n\n(?=def )', open(f).read()):
        if p.strip():
            open(f'{w}/tiny60k-fn/train/fn-{n:05d}.py', 'w').write(p.strip('\n') + '\n')
            n += 1
PY
fi
E=$W/fim-evals; mkdir -p "$E"
ev() { local name=$1; shift; [ -s "$E/$name.txt" ] || tony eval tiny-infill --problems "$W/tiny60k" --threads 1 "$@" > "$E/$name.txt"; }
big() { local out=$1; shift; [ -d "$W/$out/ckpt-1200" ] || tony train lm --data "$W/tiny60k-fn/train" --include '**/*.py' --preset tiny \
  --set blockSize=128 --set dModel=128 --set nHead=4 --vocab 512 --steps 1200 --batch 16 --lr 2e-3 --warmup 50 \
  --eval-every 200 --threads 1 --seed 0 "$@" --out "$W/$out"; }
big fn-big-fim50psm --fim-rate 0.5 --fim-mode psm
ev fn-big-fim50psm-psm --model "$W/fn-big-fim50psm" --mode fim
big fn-big-fim0 --fim-rate 0
ev fn-big-fim0-prefix --model "$W/fn-big-fim0" --mode prefix
