#!/usr/bin/env bash
# The VQ-VAE runs of docs/results/jukebox.md, one after another on one thread (the machine is shared).
# Usage: docs/results/jukebox/train-vqvae.sh <music dir> <runs dir> [run names…]
# The corpus: tony audio corpus --kind music --minutes 60 --sample-rate 8000 --seed 13 --out <music dir>
# Every level sees 32,768 samples a step except top (65,536): at hop 128 a smaller batch would give
# the 256 codes fewer than one assignment each per batch, below the restart threshold of 1.0.
set -euo pipefail
data=$1; runs=$2; shift 2
steps=${STEPS:-150}
declare -A args=(
  [top]="--set level=top --set segment=16384 --batch 4"
  [middle]="--set level=middle --set segment=8192 --batch 4"
  [bottom]="--set level=bottom --set segment=4096 --batch 8"
  [bottom-norestart]="--set level=bottom --set segment=4096 --batch 8 --set restarts=false"
  [bottom-k32]="--set level=bottom --set segment=4096 --batch 8 --set codes=32"
  [bottom-noquant]="--set level=bottom --set segment=4096 --batch 8 --set quantize=false"
  [top-nospectral]="--set level=top --set segment=16384 --batch 4 --set spectral=0"
)
for name in "${@:-top middle bottom bottom-norestart bottom-k32 bottom-noquant top-nospectral}"; do
  for n in $name; do
    echo "== $n: ${args[$n]} ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
    # shellcheck disable=SC2086
    node bin/tony.js train vqvae --data "$data" ${args[$n]} --steps "$steps" --warmup 20 --lr 2e-3 \
      --eval-every 50 --eval-batches 4 --threads 1 --seed 0 --out "$runs/vq-$n" --no-resume
  done
done
echo "== done $(date -u +%H:%M:%S)"
