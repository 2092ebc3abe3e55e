#!/usr/bin/env bash
# The whole Jukebox chain from nothing (docs/results/jukebox.md, "session 5"): the corpus, the three
# VQ-VAE levels, the top prior and the two upsamplers on the final levels' codes, each stage judged
# as the doc does (ceiling.ts on the levels, tony jukebox nll on the priors, diagnose.ts level by level),
# then the whole chain measured with paired conditioned / unconditioned requests (notes.ts, paired.ts).
#
#   docs/results/jukebox/pipeline.sh [stage…]        (no stage: all of them, in order)
#
# Resumable: a stage whose marker ($runs/<stage>.done) exists is skipped; a training stage stopped
# half-way resumes from its last checkpoint (the run directory keeps it). Stages that do not depend
# on each other may run as two invocations at once (e.g. `pipeline.sh vq-top` beside
# `pipeline.sh vq-middle`), each on one thread. Logs: $logs/<stage>.log, each stage stamped with `uptime`.
#
# Settings, and the measurements that favour them (docs/results/jukebox.md):
#   vq-bottom   session 1's bottom level (hop 8, depth 3, 256 codes), 150 steps: its reconstructions
#               kept notes (strong frames 0.72, key 79 % up to relative; session 4, section 2).
#   vq-top      the `top` preset (depth 1, 128 codes), trained in one run to 3,000 steps: its notes
#               measures rose at every checkpoint to 3,000 (session 4, section 3).
#   vq-middle   the middle level trained the same way as the top (depth 1, 16,384-sample crops,
#               batch 4, lr 3e-3, 3,000 steps); 256 codes, since a batch holds 2,048 middle codes
#               (8 assignments a code, well above the restart threshold of 1).
#   prior-top   the top prior on the final top codes, 600 steps (session 4, section 4).
#   up-middle, up-bottom   the upsamplers (with labels) on the new codes of every training song
#               (378 songs; session 3 trained on 150), longer than session 3's 600 / 1,000 steps.
#   chain       the top prior at T 0.7 (where the key showed through the top level, session 4
#               section 4) and both upsamplers at 0.4 (where they keep pitched sound, section 2), 4 s.
#   top-paired  (session 6) the top level alone: the top prior's samples decoded by the top level, the same
#               paired requests as chain, to say whether the key is lost at the prior or below it.
#   diagnose-top  (session 6) diagnose's top prior rows alone (no upsamplers needed), to choose CHAIN_T.
# Environment: RUNS (runs/s5), DATA (data/music), LOGS (docs/results/jukebox/s5), TONY (node bin/tony.js),
# and the steps: BOTTOM_STEPS, TOP_STEPS, MIDDLE_STEPS, PRIOR_STEPS, UP_MIDDLE_STEPS, UP_BOTTOM_STEPS;
# SEEDS (the chain's and top-paired's sampling seeds, "1 2 3"); TOP_TEMPS (diagnose's top prior
# temperatures, "0.7"; the first also feeds its chain row); CHAIN_T (the top prior's temperature in
# chain and top-paired, 0.7); UP_T (the upsamplers' temperature in chain, 0.4); PRIOR_BEST (session 7: when set,
# prior-top keeps its lowest held-out loss's checkpoint, --keep-best, and the chain uses that one).
set -euo pipefail
runs=${RUNS:-runs/s5}
data=${DATA:-data/music}
logs=${LOGS:-docs/results/jukebox/s5}
tony=${TONY:-node bin/tony.js}
models=$runs/models
mkdir -p "$runs" "$logs" "$models"

# The progress bars write \r-separated lines; keep only the finished lines in the logs.
quiet() { tr '\r' '\n' | grep -v -E '^(train|encod|sampling|scor)' || true; }
link() { ln -sfn "$(realpath "$2")" "$models/$1"; }

vqvae() { # <name> <steps> <args…>: one VQ-VAE level, resumable
  local name=$1 steps=$2; shift 2
  # shellcheck disable=SC2086
  $tony train vqvae --data "$data" "$@" --steps "$steps" --eval-every 100 --eval-batches 4 --threads 1 --seed 0 \
    --out "$runs/$name" 2>&1 | quiet
}
prior() { # <name> <codes> <steps> <args…>: one prior, resumable
  local name=$1 codes=$2 steps=$3; shift 3
  $tony train prior --data "$codes" "$@" --steps "$steps" --warmup 30 --lr 3e-3 --eval-every 100 --eval-batches 4 \
    --threads 1 --seed 0 --out "$runs/$name" 2>&1 | quiet
}

stage_corpus() { [ -f "$data/manifest.jsonl" ] || $tony audio corpus --kind music --minutes 60 --sample-rate 8000 --seed 13 --out "$data"; }
stage_vq-bottom() {
  vqvae vq-bottom "${BOTTOM_STEPS:-150}" --set level=bottom --set segment=4096 --batch 8 --warmup 20 --lr 2e-3
  link bottom "$runs/vq-bottom"
}
stage_vq-top() {
  vqvae vq-top "${TOP_STEPS:-3000}" --set preset=top --level top --batch 4 --warmup 30 --lr 3e-3
  link top "$runs/vq-top"
}
stage_vq-middle() {
  vqvae vq-middle "${MIDDLE_STEPS:-3000}" --set preset=top --level middle --set codes=256 --batch 4 --warmup 30 --lr 3e-3
  link middle "$runs/vq-middle"
}
stage_ceiling() { # the levels on the 38 held-out songs, 8 s: key, tempo and the notes measures
  npx tsx docs/results/jukebox/ceiling.ts "$data" 38 8 "$runs/vq-bottom" "$runs/vq-middle" "$runs/vq-top"
  for l in bottom middle top; do npx tsx docs/results/jukebox/recon-png.ts "$data" "$runs/vq-$l" "$logs/heldout-$l.png"; done
}
stage_codes-mt() {
  $tony jukebox encode-corpus --data "$data" --models "$models" --levels middle,top --out "$runs/codes-mt.jsonl" --threads 1 2>&1 | quiet
}
stage_codes-bm() {
  $tony jukebox encode-corpus --data "$data" --models "$models" --levels bottom,middle --out "$runs/codes-bm.jsonl" --threads 1 2>&1 | quiet
}
stage_prior-top() {
  if [ -n "${PRIOR_BEST:-}" ]; then # (session 7) keep the lowest held-out loss's checkpoint and use it
    prior prior-top "$runs/codes-mt.jsonl" "${PRIOR_STEPS:-600}" --set level=top --set codes=128 --set context=128 --batch 16 --keep-best
    link prior-top "$runs/prior-top/best"
  else
    prior prior-top "$runs/codes-mt.jsonl" "${PRIOR_STEPS:-600}" --set level=top --set codes=128 --set context=128 --batch 16
    link prior-top "$runs/prior-top"
  fi
  $tony jukebox nll --prior "$models/prior-top" --codes "$runs/codes-mt.jsonl" --threads 1 --out "$logs/nll-top.json" 2>&1 | quiet
}
stage_up-middle() {
  prior prior-middle "$runs/codes-mt.jsonl" "${UP_MIDDLE_STEPS:-1500}" --set level=middle --set codes=256 --set context=256 --batch 8
  link prior-middle "$runs/prior-middle"
  $tony jukebox nll --prior "$runs/prior-middle" --codes "$runs/codes-mt.jsonl" --threads 1 --out "$logs/nll-middle.json" 2>&1 | quiet
}
stage_up-bottom() {
  prior prior-bottom "$runs/codes-bm.jsonl" "${UP_BOTTOM_STEPS:-1500}" --set level=bottom --set codes=256 --set context=256 --batch 8
  link prior-bottom "$runs/prior-bottom"
  $tony jukebox nll --prior "$runs/prior-bottom" --codes "$runs/codes-bm.jsonl" --threads 1 --out "$logs/nll-bottom.json" 2>&1 | quiet
}
stage_diagnose() { # level by level on 8 held-out songs, 4 s (session 4, section 2)
  npx tsx docs/results/jukebox/diagnose.ts "$data" "$models" 8 4 1 "${TOP_TEMPS:-0.7}" 0.4,1 "$logs/diagnose.json" "$runs/diagnose-wavs"
}
stage_diagnose-top() { # the same songs and seed, the levels' reconstructions and the top prior's rows only
  npx tsx docs/results/jukebox/diagnose.ts "$data" "$models" 8 4 1 "${TOP_TEMPS:-0.7}" - "$logs/diagnose-top.json" "$runs/diagnose-top-wavs"
}
stage_chain() { # the whole chain, 24 paired requests a seed
  for seed in ${SEEDS:-1 2 3}; do
    [ -f "$logs/chain-$seed.json" ] && continue
    echo "== seed $seed ($(uptime))"
    $tony jukebox conditioning --models "$models" --n 24 --seconds 4 --seed "$seed" --chain --temperature "${CHAIN_T:-0.7}" \
      --upsampler-temperature "${UP_T:-0.4}" --threads 1 --wavs "$runs/chain-wavs-$seed" --out "$logs/chain-$seed.json" 2>&1 | quiet
  done
}
stage_top-paired() { # the top level alone (top prior → top decoder), the same paired requests as chain
  for seed in ${SEEDS:-1 2 3}; do
    [ -f "$logs/top-$seed.json" ] && continue
    echo "== seed $seed ($(uptime))"
    $tony jukebox conditioning --models "$models" --n 24 --seconds 4 --seed "$seed" --temperature "${CHAIN_T:-0.7}" \
      --threads 1 --wavs "$runs/top-wavs-$seed" --out "$logs/top-$seed.json" 2>&1 | quiet
  done
}

all=(corpus vq-bottom vq-top vq-middle ceiling codes-mt codes-bm prior-top up-middle up-bottom diagnose chain)
# Not in the default order (session 6): diagnose-top, top-paired.
extra=(diagnose-top top-paired)
for s in "${@:-${all[@]}}"; do
  declare -F "stage_$s" > /dev/null || { echo "pipeline.sh: no stage '$s' (stages: ${all[*]} ${extra[*]})" >&2; exit 2; }
  # chain and top-paired are never marked done: they skip the seeds they have, so more can be added later.
  if [ -f "$runs/$s.done" ]; then echo "== $s: done before, skipped"; continue; fi
  { echo "== $s start ($(date -u +%FT%TZ); uptime:$(uptime))"; "stage_$s"; echo "== $s end ($(date -u +%FT%TZ); uptime:$(uptime))"; } 2>&1 | tee -a "$logs/$s.log"
  [ "${PIPESTATUS[0]}" = 0 ] || exit 1
  [ "$s" = chain ] || [ "$s" = top-paired ] || touch "$runs/$s.done"
done
