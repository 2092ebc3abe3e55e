#!/usr/bin/env python3
"""The paper's reconstruction table from `tony jukebox eval --out sc.json`, and its comparisons paired
over the same held-out songs (docs/results/jukebox.md, "The VQ-VAE: spectral convergence").

    python3 docs/results/jukebox/sc-paired.py sc.json

Runs are found by their directory names (vq-bottom, vq-middle, vq-top, vq-bottom-norestart,
vq-top-nospectral, vq-bottom-k32, vq-bottom-noquant; train-vqvae.sh's). Each comparison: the mean and
sd over songs of (worse − better) in dB, the songs in the paper's direction, the paper's own gap
(Dhariwal et al. 2020, table 3: spectral convergence in dB)."""
import json
import os
import statistics
import sys

PAPER = {"bottom": -23.0, "middle": -12.4, "top": -8.3, "bottom-norestart": -21.1, "top-nospectral": -6.3, "bottom-k32": -15.9, "bottom-noquant": -40.5}
PAIRS = [  # (worse, better, what)
    ("middle", "bottom", "middle − bottom"),
    ("top", "middle", "top − middle"),
    ("bottom-norestart", "bottom", "bottom without restarts − with"),
    ("top-nospectral", "top", "top without spectral loss − with"),
    ("bottom-k32", "bottom", "bottom, 32 codes − 256 codes (paper: 256 − 2,048)"),
    ("bottom", "bottom-noquant", "bottom − no quantization"),
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sc-paired.py <sc.json from tony jukebox eval --out>")
    runs = {}
    for r in json.load(open(sys.argv[1])):
        name = os.path.basename(r["run"].rstrip("/"))
        runs[name[3:] if name.startswith("vq-") else name] = r
    print("| run | steps | SC (dB), mean ± sd over songs | paper (dB) |\n|---|---|---|---|")
    for name, paper in PAPER.items():
        if name in runs:
            r = runs[name]
            sd = statistics.stdev(s["scDb"] for s in r["songs"])
            print(f"| {name} | {r['step']} | {r['scDb']:.2f} ± {sd:.2f} | {paper} |")
    print("\n| comparison | mean difference (sd) | songs in the paper's direction | paper |\n|---|---|---|---|")
    for worse, better, what in PAIRS:
        if worse not in runs or better not in runs:
            continue
        b = {s["id"]: s["scDb"] for s in runs[better]["songs"]}
        d = [s["scDb"] - b[s["id"]] for s in runs[worse]["songs"] if s["id"] in b]
        print(f"| {what} | {statistics.mean(d):+.2f} dB ({statistics.stdev(d):.2f}) | {sum(x > 0 for x in d)} / {len(d)} | {PAPER[worse] - PAPER[better]:+.1f} |")


main()
