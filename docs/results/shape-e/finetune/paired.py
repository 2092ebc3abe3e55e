"""Reconstruction of the fine-tune arms (docs/results/shape-e.md), each against a reference arm, paired by scene.

    python3 docs/results/shape-e/finetune/paired.py <reference eval json> <eval json> …

For each `tony shape-e eval --json` file: the mean ± s.e. over scenes of Chamfer, F@0.05 and the
silhouette IoUs, and its paired difference to the reference (mean ± s.e. of the per-scene difference).
"""
import json
import math
import sys

KEYS = ("chamfer", "fscore", "iouNerfTrue", "iouMeshTrue", "iouNerfMesh")


def stats(xs):
    n = len(xs)
    m = sum(xs) / n
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1) / n)


ref_path, *paths = sys.argv[1:]
ref = json.load(open(ref_path))["reconstruction"]
for path in [ref_path, *paths]:
    rows = json.load(open(path))["reconstruction"]
    print(path)
    for k in KEYS:
        m, se = stats([r[k] for r in rows])
        line = f"  {k:12s} {m:.4f} ± {se:.4f}"
        if path != ref_path:
            dm, dse = stats([r[k] - q[k] for r, q in zip(rows, ref)])
            line += f"   vs reference {dm:+.4f} ± {dse:.4f}"
        print(line)
