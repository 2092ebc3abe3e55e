#!/bin/bash
# Run 3: 2–4-calculation problems, generator trained short so it solves a minority of training problems.
set -e
cd /work/wt-ver
D=/tmp/vt/r
T="--threads 1"
GPT="--set nLayer=2 --set dModel=64 --set nHead=4 --set blockSize=512"
echo "=== $(date -u +%T) generate"
node bin/tony.js math generate --split train --count 4000 --min-steps 2 --max-steps 4 --seed 0 --out $D/train.jsonl
echo "=== $(date -u +%T) train generator"
node bin/tony.js train math-generator --data $D/train.jsonl --steps 2000 --batch 8 --lr 3e-3 --warmup 100 --eval-every 250 --out $D/gen $T $GPT --set pretrainSteps=400
echo "=== $(date -u +%T) probe: 100 training problems x 8"
node bin/tony.js math sample --model $D/gen --data $D/train.jsonl --limit 100 --n 8 --max-tokens 320 --out $D/probe-train.jsonl $T --seed 5
echo "=== $(date -u +%T) done"
#!/bin/bash
# Run 3, part 2: the machine is loaded (~10 on 2 cores), so the generator ends at 1,000 steps (resumed from ckpt-500).
set -e
cd /work/wt-ver
D=/tmp/vt/r
T="--threads 1"
GPT="--set nLayer=2 --set dModel=64 --set nHead=4 --set blockSize=512"
while [ ! -f $D/gen/ckpt-500/tony-checkpoint.json ]; do sleep 5; done
sleep 3
kill 15579 15616 || true
sleep 2
echo "=== $(date -u +%T) train generator (resume to 1000)"
node bin/tony.js train math-generator --data $D/train.jsonl --steps 1000 --batch 8 --lr 3e-3 --warmup 100 --eval-every 250 --out $D/gen $T $GPT --set pretrainSteps=400
echo "=== $(date -u +%T) probe: 100 training problems x 8"
node bin/tony.js math sample --model $D/gen --data $D/train.jsonl --limit 100 --n 8 --max-tokens 320 --out $D/probe-train.jsonl $T --seed 5
node bin/tony.js math generate --split test --start-range train --count 200 --min-steps 2 --max-steps 4 --seed 0 --out $D/test.jsonl
node bin/tony.js math sample --model $D/gen --data $D/test.jsonl --n 4 --max-tokens 320 --out $D/probe-test.jsonl $T --seed 6 --limit 50
echo "=== $(date -u +%T) done"
#!/bin/bash
# Run 3, part 2b: at 1,000 steps the generator solved 0.9 % of training problems (garbled copying);
# resumed to 2,500 steps.
set -e
cd /work/wt-ver
D=/tmp/vt/r
T="--threads 1"
GPT="--set nLayer=2 --set dModel=64 --set nHead=4 --set blockSize=512"
echo "=== $(date -u +%T) train generator (resume to 2500)"
node bin/tony.js train math-generator --data $D/train.jsonl --steps 2500 --batch 8 --lr 3e-3 --warmup 100 --eval-every 250 --out $D/gen $T $GPT --set pretrainSteps=400
echo "=== $(date -u +%T) probe: 100 training problems x 8"
node bin/tony.js math sample --model $D/gen --data $D/train.jsonl --limit 100 --n 8 --max-tokens 320 --out $D/probe-train-2500.jsonl $T --seed 5
node bin/tony.js math sample --model $D/gen --data $D/test.jsonl --n 4 --max-tokens 320 --out $D/probe-test-2500.jsonl $T --seed 6 --limit 50
echo "=== $(date -u +%T) done"
#!/bin/bash
# Run 3, part 2c: the machine's load (7–14 on 2 cores) slowed training to ~0.6 steps/s, so the
# schedule is cut to 1,750 steps, resumed from ckpt-1250.
set -e
cd /work/wt-ver
D=/tmp/vt/r
T="--threads 1"
GPT="--set nLayer=2 --set dModel=64 --set nHead=4 --set blockSize=512"
while [ ! -f $D/gen/ckpt-1250/tony-checkpoint.json ]; do sleep 5; done
sleep 3
kill $1 $2 || true
sleep 2
echo "=== $(date -u +%T) train generator (resume to 1750)"
node bin/tony.js train math-generator --data $D/train.jsonl --steps 1750 --batch 8 --lr 3e-3 --warmup 100 --eval-every 250 --out $D/gen $T $GPT --set pretrainSteps=400
echo "=== $(date -u +%T) probe: 100 training problems x 8"
node bin/tony.js math sample --model $D/gen --data $D/train.jsonl --limit 100 --n 8 --max-tokens 320 --out $D/probe-train-1750.jsonl $T --seed 5
echo "=== $(date -u +%T) done"
