#!/bin/bash
# The rest of main.sh, reordered when the load (~10) stretched sampling: test-hi first, then real
# GSM8K (gsm8k.sh), then test-lo with 16 samples per problem instead of 32.
set -e
cd /work/wt-ver
G=/tmp/vt/demo2/gen
D=/tmp/vt/m
T="--threads 1"
tony() { node bin/tony.js "$@"; }
stage() { echo "=== $(date -u +%T) $*"; }
while kill -0 $1 2>/dev/null; do sleep 3; done
[ "$(wc -l < $D/test-hi-samples.jsonl)" = 20000 ]
stage train verifier solution
tony train verifier --data $D/vtrain-samples.jsonl --set init=$G --set level=solution --steps 800 --batch 8 --lr 1e-3 --warmup 40 --eval-every 200 --out $D/ver-solution $T
for level in token solution; do
  stage rank test-hi $level
  tony math rank --verifier $D/ver-$level --samples $D/test-hi-samples.jsonl --data $D/test-hi.jsonl --vote 5 $T --out $D/hi-scored-$level.jsonl
done
stage report test-hi
tony math report --data $D/test-hi.jsonl --scored token=$D/hi-scored-token.jsonl --scored solution=$D/hi-scored-solution.jsonl --vote 5 --out $D/report-hi.json --plot $D/accuracy-vs-n-hi.png --title "held-out themes and numbers: 200 test problems"
stage no calculator, test-hi: 200 x 4
tony math sample --model $G --data $D/test-hi.jsonl --n 4 --max-tokens 200 --out $D/test-hi-nocalc.jsonl $T --seed 1 --no-calculator
tony math report --data $D/test-hi.jsonl --samples $D/test-hi-nocalc.jsonl --out $D/report-hi-nocalc.json
tony math report --data $D/test-hi.jsonl --samples $D/test-hi-samples.jsonl --out $D/report-hi-calc.json | head -8
stage real GSM8K
GSTEPS=400 /tmp/vt/g/gsm.sh
stage sample test-lo: 200 x 16, and x 4 without the calculator
tony math sample --model $G --data $D/test-lo.jsonl --n 16 --max-tokens 200 --out $D/test-lo-samples.jsonl $T --seed 1
tony math sample --model $G --data $D/test-lo.jsonl --n 4 --max-tokens 200 --out $D/test-lo-nocalc.jsonl $T --seed 1 --no-calculator
for level in token solution; do
  stage rank test-lo $level
  tony math rank --verifier $D/ver-$level --samples $D/test-lo-samples.jsonl --data $D/test-lo.jsonl --vote 5 $T --out $D/lo-scored-$level.jsonl
done
stage report test-lo
tony math report --data $D/test-lo.jsonl --scored token=$D/lo-scored-token.jsonl --scored solution=$D/lo-scored-solution.jsonl --vote 5 --out $D/report-lo.json --plot $D/accuracy-vs-n-lo.png --title "held-out themes, training number range: 200 test problems"
tony math report --data $D/test-lo.jsonl --samples $D/test-lo-nocalc.jsonl --out $D/report-lo-nocalc.json | head -4
stage done
