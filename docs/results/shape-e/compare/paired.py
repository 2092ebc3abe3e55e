"""Paired differences per held-out scene between two checkpoints of compare.jsonl (docs/results/shape-e.md).

    python3 docs/results/shape-e/compare/paired.py docs/results/shape-e/compare/compare.jsonl pointe:2400 shape-e:1350

Prints, for Chamfer and F@0.05, the mean of (second − first) over the scenes and its standard error
(sample std / sqrt(n)), and how many scenes the second wins.
"""
import json
import math
import sys

rows = {f"{r['model']}:{r['step']}": r for r in map(json.loads, open(sys.argv[1]))}
a, b = rows[sys.argv[2]], rows[sys.argv[3]]
for k in ("chamfer", "fscore"):
    d = [y[k] - x[k] for x, y in zip(a["per_scene"], b["per_scene"])]
    n = len(d)
    m = sum(d) / n
    se = math.sqrt(sum((v - m) ** 2 for v in d) / (n - 1) / n)
    better = sum(1 for v in d if (v < 0 if k == "chamfer" else v > 0))
    print(f"{k}: {sys.argv[3]} − {sys.argv[2]} = {m:+.4f} ± {se:.4f} (s.e., {n} scenes); {sys.argv[3]} better on {better} of {n}")
