#!/usr/bin/env python3
"""How sure is "the best temperature rises with k"? Bootstrap over problems.

Usage: python3 docs/results/passk/bootstrap.py <passk.json> [resamples=2000]
Reads the per-problem pass counts `tony eval tiny-passk --out` writes, recomputes pass@k with the
unbiased estimator (its own implementation, math.comb, independent of src/evals/passk.ts), and
resamples the problems with replacement: for each k, how often each temperature is the best, and
how often the best temperature for the largest k is above the best for k = 1.
"""
import json
import random
import sys
from math import comb

data = json.load(open(sys.argv[1]))
B = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
n = data["n"]
temps = [r["temperature"] for r in data["rows"]]
counts = [r["correct"] for r in data["rows"]]  # [temperature][problem]
P = len(counts[0])
ks = [1, 10, 100]


def passk(c, k):
    return 1.0 if n - c < k else 1.0 - comb(n - c, k) / comb(n, k)


table = [[[passk(c, k) for c in counts[t]] for t in range(len(temps))] for k in ks]  # [k][T][problem]
print(f"{P} problems, n = {n}; pass@k recomputed with math.comb")
for ki, k in enumerate(ks):
    print(f"  pass@{k}: " + "  ".join(f"T={t}: {sum(table[ki][ti]) / P:.4f}" for ti, t in enumerate(temps)))

rng = random.Random(0)
best = {k: [0] * len(temps) for k in ks}
rises = 0
for _ in range(B):
    idx = [rng.randrange(P) for _ in range(P)]
    arg = {}
    for ki, k in enumerate(ks):
        means = [sum(table[ki][ti][i] for i in idx) for ti in range(len(temps))]
        arg[k] = max(range(len(temps)), key=lambda ti: means[ti])
        best[k][arg[k]] += 1
    rises += temps[arg[ks[-1]]] > temps[arg[ks[0]]]
print(f"bootstrap over problems ({B} resamples): share of resamples in which each T is best")
for k in ks:
    print(f"  pass@{k}: " + "  ".join(f"T={t}: {100 * c / B:.1f}%" for t, c in zip(temps, best[k])))
print(f"best T for pass@{ks[-1]} above best T for pass@1 in {100 * rises / B:.1f}% of resamples")
