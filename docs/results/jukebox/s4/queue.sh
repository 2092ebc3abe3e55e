set -euo pipefail
while pgrep -f "bash runs/s4/chain-lowT.sh" > /dev/null; do sleep 10; done
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
stamp "the whole chain, top T 0.98, upsamplers T 0.4, seed 3"
node bin/tony.js jukebox conditioning --models runs/models --n 24 --seconds 4 --seed 3 --chain --temperature 0.98 --upsampler-temperature 0.4 \
  --threads 1 --wavs runs/s4/chain-lowT-wavs-3 --out runs/s4/conditioning-chain-lowT-3.json 2>&1 | tr '\r' '\n' | grep -v '^sampling'
stamp "top level (vq-top-1100) resumed to step 2000"
rm -rf runs/vq-top-2000 && cp -r /work/wt-juke9/runs/vq-top-1100 runs/vq-top-2000
node bin/tony.js train vqvae --data data/music --set preset=top --level top --batch 4 --steps 2000 --warmup 30 --lr 3e-3 \
  --eval-every 100 --eval-batches 4 --threads 1 --seed 0 --out runs/vq-top-2000 2>&1 | tr '\r' '\n' | grep -v '^train ' || true
stamp done
