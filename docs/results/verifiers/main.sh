#!/bin/bash
# The verifier comparison in the paper's regime. Generator: the 2-calculation run of the earlier
# demonstration (/tmp/vt/demo2/gen: 4,000 training problems, 5,000 steps, 95 % right on them).
# Verifier training problems: training themes with starting numbers 41-90, which the generator never
# saw (it solves ~37 % of them: the paper's "minority" regime), 100 samples each.
# Test sets (held-out themes): "hi" with starting numbers 41-90 (test@1 ~17 %), "lo" with the
# training range 2-40 (~85 %).
set -e
cd /work/wt-ver
G=/tmp/vt/demo2/gen
D=/tmp/vt/m
T="--threads 1"
tony() { node bin/tony.js "$@"; }
stage() { echo "=== $(date -u +%T) $*"; }
stage problems
tony math generate --split train --start-range test --count 200 --max-steps 2 --seed 7 --out $D/vtrain.jsonl
tony math generate --split test --count 200 --max-steps 2 --seed 0 --out $D/test-hi.jsonl
tony math generate --split test --start-range train --count 200 --max-steps 2 --seed 0 --out $D/test-lo.jsonl
stage sample verifier data: 200 x 100
tony math sample --model $G --data $D/vtrain.jsonl --n 100 --max-tokens 200 --out $D/vtrain-samples.jsonl $T --seed 2
for level in token solution; do
  stage train verifier $level
  tony train verifier --data $D/vtrain-samples.jsonl --set init=$G --set level=$level --steps 800 --batch 8 --lr 1e-3 --warmup 40 --eval-every 200 --out $D/ver-$level $T
  if [ $level = token ]; then
    stage AUC probe: 40 test-hi problems x 16
    tony math sample --model $G --data $D/test-hi.jsonl --limit 40 --n 16 --max-tokens 200 --out $D/auc-probe.jsonl $T --seed 9
    tony math rank --verifier $D/ver-token --samples $D/auc-probe.jsonl --data $D/test-hi.jsonl $T --out $D/auc-probe-scored.jsonl > /dev/null
    tony math report --data $D/test-hi.jsonl --scored token=$D/auc-probe-scored.jsonl --reps 200 | head -3
    stage sample test-hi: 200 x 100
    tony math sample --model $G --data $D/test-hi.jsonl --n 100 --max-tokens 200 --out $D/test-hi-samples.jsonl $T --seed 1
  fi
done
for level in token solution; do
  stage rank test-hi $level
  tony math rank --verifier $D/ver-$level --samples $D/test-hi-samples.jsonl --data $D/test-hi.jsonl --vote 5 $T --out $D/hi-scored-$level.jsonl
done
stage report test-hi
tony math report --data $D/test-hi.jsonl --scored token=$D/hi-scored-token.jsonl --scored solution=$D/hi-scored-solution.jsonl --vote 5 --out $D/report-hi.json --plot $D/accuracy-vs-n-hi.png --title "held-out themes and numbers: 200 test problems"
stage no calculator, test-hi: 200 x 4
tony math sample --model $G --data $D/test-hi.jsonl --n 4 --max-tokens 200 --out $D/test-hi-nocalc.jsonl $T --seed 1 --no-calculator
stage sample test-lo: 200 x 32, and x 4 without the calculator
tony math sample --model $G --data $D/test-lo.jsonl --n 32 --max-tokens 200 --out $D/test-lo-samples.jsonl $T --seed 1
tony math sample --model $G --data $D/test-lo.jsonl --n 4 --max-tokens 200 --out $D/test-lo-nocalc.jsonl $T --seed 1 --no-calculator
for level in token solution; do
  stage rank test-lo $level
  tony math rank --verifier $D/ver-$level --samples $D/test-lo-samples.jsonl --data $D/test-lo.jsonl --vote 5 $T --out $D/lo-scored-$level.jsonl
done
stage report test-lo
tony math report --data $D/test-lo.jsonl --scored token=$D/lo-scored-token.jsonl --scored solution=$D/lo-scored-solution.jsonl --vote 5 --out $D/report-lo.json --plot $D/accuracy-vs-n-lo.png --title "held-out themes, training number range: 200 test problems"
stage done
