set -euo pipefail
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
for seed in 1 2; do
  stamp "the whole chain, top T 0.98, upsamplers T 0.4, seed $seed"
  node bin/tony.js jukebox conditioning --models runs/models --n 24 --seconds 4 --seed $seed --chain --temperature 0.98 --upsampler-temperature 0.4 \
    --threads 1 --wavs runs/s4/chain-lowT-wavs-$seed --out runs/s4/conditioning-chain-lowT-$seed.json 2>&1 | tr '\r' '\n' | grep -v '^sampling'
done
stamp done
