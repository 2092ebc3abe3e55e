set -euo pipefail
while pgrep -f "bash runs/s4/top-3000.sh" > /dev/null; do sleep 5; done
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
for seed in $(seq 11 30); do
  stamp "confirmatory samples, T 0.7, seed $seed"
  node bin/tony.js jukebox conditioning --models runs/models-2000 --n 24 --seconds 8 --seed $seed --temperature 0.7 --threads 1 \
    --out runs/s4/top2000/confirm-T0.7-$seed.json 2>&1 | tr '\r' '\n' | grep -v '^sampling'
done
stamp done
