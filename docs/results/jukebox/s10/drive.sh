#!/usr/bin/env bash
# Session 10's plan (s10/hypothesis.txt) as background jobs, safe to start again after a stop: every
# stage of pipeline.sh skips what is done and resumes a training from its last checkpoint, and a
# chain seed whose result is missing loses its claim and is sampled again from its start.
#
#   RUNS=/work/juke/runs/s10 DATA=/work/juke/data/music LOGS=docs/results/jukebox/s10 docs/results/jukebox/s10/drive.sh
#
# Four queues, each a background process: core1 (codes-mt, prior-top, up-middle), core2 (vq-bottom,
# codes-bm, up-bottom), side (ceiling, diagnose-top, once their inputs exist), and two test workers
# (seeds 1-16 of stage chain, once both upsamplers are done). The upper VQ-VAE levels run first, one a
# core (they were started by hand in session 10: pipeline.sh vq-top, pipeline.sh vq-middle).
set -euo pipefail
: "${RUNS:?}" "${DATA:?}" "${LOGS:?}"
export RUNS DATA LOGS
cd "$(dirname "$0")/../../../.."
P=docs/results/jukebox/pipeline.sh
if pgrep -f 'jukebox/pipeline.sh' > /dev/null; then
  echo "drive.sh: pipeline.sh is still running (pgrep -f jukebox/pipeline.sh): two would train the same runs; stop it first" >&2
  exit 1
fi
out=$RUNS/drive; mkdir -p "$out" "$RUNS/claims"
# A claim without its result was stopped mid-seed: free it.
for c in "$RUNS"/claims/*; do
  if [ -d "$c" ] && [ ! -f "$LOGS/chain-$(basename "$c").json" ]; then rmdir "$c"; fi
done
w='w() { while [ ! -f "$RUNS/$1.done" ]; do sleep 10; done; }'
bg() { setsid nohup bash -c "$w; $2" > "$out/$1.out" 2>&1 < /dev/null & }
bg vq-top "$P vq-top"
bg vq-middle "$P vq-middle"
bg core1 "w vq-top; w vq-middle; $P codes-mt && PRIOR_STEPS=3000 PRIOR_BEST=1 $P prior-top && UP_MIDDLE_STEPS=10500 $P up-middle"
bg core2 "w vq-middle; $P vq-bottom && $P codes-bm && UP_BOTTOM_STEPS=16000 $P up-bottom"
bg side "w vq-bottom; w vq-top; w vq-middle; $P ceiling && w prior-top && TOP_TEMPS=1 $P diagnose-top"
for i in 1 2; do
  bg "worker$i" "w up-middle; w up-bottom
    for seed in \$(seq 1 16); do
      mkdir \"\$RUNS/claims/\$seed\" 2>/dev/null || continue
      echo \"worker $i: seed \$seed start \$(date -u +%T)\" >> \"\$LOGS/claims.log\"
      CHAIN_T=1 UP_T=0.2 SEEDS=\$seed $P chain
      echo \"worker $i: seed \$seed end \$(date -u +%T)\" >> \"\$LOGS/claims.log\"
    done"
done
echo "started: vq-top vq-middle core1 core2 side worker1 worker2 (logs $out/*.out, stages $LOGS/*.log)"
