set -euo pipefail
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
stamp "top level, spectral weight 10 (waveform term 1), 700 steps, as vq-top-light otherwise"
node bin/tony.js train vqvae --data data/music --set preset=top --set spectral=10 --level top --batch 4 --steps 700 --warmup 30 --lr 3e-3 \
  --eval-every 100 --eval-batches 4 --threads 1 --seed 0 --out runs/vq-top-spec 2>&1 | tr '\r' '\n' | grep -v '^train ' || true
stamp done
