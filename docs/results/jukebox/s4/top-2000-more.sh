set -euo pipefail
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
for seed in 4 5 6 7 8 9 10; do
  stamp "samples, T 1, seed $seed"
  node bin/tony.js jukebox conditioning --models runs/models-2000 --n 24 --seconds 8 --seed $seed --threads 1 \
    --out runs/s4/top2000/conditioning-top-$seed.json 2>&1 | tr '\r' '\n' | grep -v '^sampling'
done
for seed in 1 2 3 4 5 6 7 8 9 10; do
  stamp "samples, T 0.7, seed $seed"
  node bin/tony.js jukebox conditioning --models runs/models-2000 --n 24 --seconds 8 --seed $seed --temperature 0.7 --threads 1 \
    --out runs/s4/top2000/conditioning-top-T0.7-$seed.json 2>&1 | tr '\r' '\n' | grep -v '^sampling'
done
stamp done
