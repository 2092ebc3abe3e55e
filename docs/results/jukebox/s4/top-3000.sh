set -euo pipefail
while pgrep -f "bash runs/s4/top-2000-more.sh" > /dev/null; do sleep 5; done
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
stamp "top level resumed from step 2000 to 3000"
rm -rf runs/vq-top-3000 && cp -r runs/vq-top-2000 runs/vq-top-3000
node bin/tony.js train vqvae --data data/music --set preset=top --level top --batch 4 --steps 3000 --warmup 30 --lr 3e-3 \
  --eval-every 100 --eval-batches 4 --threads 1 --seed 0 --out runs/vq-top-3000 2>&1 | tr '\r' '\n' | grep -v '^train ' || true
stamp "ceiling"
npx tsx docs/results/jukebox/ceiling.ts data/music 38 8 runs/vq-top-3000
stamp done
