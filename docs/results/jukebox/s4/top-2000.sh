set -euo pipefail
stamp() { echo "== $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
mkdir -p runs/models-2000 runs/s4/top2000
ln -sfn "$(realpath runs/vq-top-2000)" runs/models-2000/top
stamp "encode music (top, step 2000)"
node bin/tony.js jukebox encode-corpus --data data/music --models runs/models-2000 --levels top --out runs/music-top-2000.jsonl --threads 1 2>&1 | tr '\r' '\n' | grep -v '^encod' || true
stamp "prior-top on the step-2000 codes"
node bin/tony.js train prior --data runs/music-top-2000.jsonl --set level=top --set codes=128 --set context=128 --batch 16 \
  --steps 600 --warmup 30 --lr 3e-3 --eval-every 100 --eval-batches 4 --threads 1 --seed 0 --out runs/prior-top-2000 --no-resume 2>&1 | tr '\r' '\n' | grep -v '^train ' || true
ln -sfn "$(realpath runs/prior-top-2000)" runs/models-2000/prior-top
stamp "nll"
node bin/tony.js jukebox nll --prior runs/prior-top-2000 --codes runs/music-top-2000.jsonl --threads 1 --out runs/s4/top2000/nll-top-2000.json 2>&1 | tr '\r' '\n' | grep -v '^scor' || true
for seed in 1 2 3; do
  stamp "samples, seed $seed"
  node bin/tony.js jukebox conditioning --models runs/models-2000 --n 24 --seconds 8 --seed $seed --threads 1 \
    --wavs runs/s4/top2000/wavs-$seed --out runs/s4/top2000/conditioning-top-$seed.json 2>&1 | tr '\r' '\n' | grep -v '^sampling'
done
stamp done
