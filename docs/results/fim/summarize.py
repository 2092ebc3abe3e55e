#!/usr/bin/env python3
"""Tables of docs/results/fim.md from the runs and evaluations of run-fim.sh.

Usage: python3 docs/results/fim/summarize.py <work dir>
Reads <work dir>/<run>/metrics.jsonl (left-to-right validation loss) and <work dir>/fim-evals/*.txt
(the JSON line `tony eval tiny-infill` prints last). Mean ± sample standard deviation over seeds.
"""
import json
import os
import statistics
import sys

W = sys.argv[1]
SEEDS = [0, 1, 2]
SPANS = ["identifier", "expression", "line", "span"]


def last_val(run):
    rows = [json.loads(l) for l in open(os.path.join(W, run, "metrics.jsonl")) if l.strip()]
    vals = [r for r in rows if "val_loss" in r]
    return vals[-1]["val_loss"], vals[-1]["step"], vals[-1]["tokens"]


def ms(xs, fmt="{:.4f}"):
    if len(xs) == 1:
        return fmt.format(xs[0])
    return f"{fmt.format(statistics.mean(xs))} ± {fmt.format(statistics.stdev(xs))}"


def evals(name):
    path = os.path.join(W, "fim-evals", f"{name}.txt")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    return json.loads(open(path).read().strip().splitlines()[-1])["results"]


print("## left-to-right validation loss (nats/token), final step")
print("| seed | FIM 0 | FIM 0.5 | difference (0.5 − 0) |")
print("|---|---:|---:|---:|")
d, a, b = [], [], []
for s in SEEDS:
    try:
        l0, step, tok = last_val(f"fim0-s{s}")
        l5, _, _ = last_val(f"fim50-s{s}")
    except FileNotFoundError:
        continue
    a.append(l0), b.append(l5), d.append(l5 - l0)
    print(f"| {s} | {l0:.4f} | {l5:.4f} | {l5 - l0:+.4f} |")
if a:
    print(f"| mean ± sd | {ms(a)} | {ms(b)} | {ms(d, '{:+.4f}')} |")
    print(f"(step {step}, {tok:,} tokens)")

psm = []
for s in SEEDS:
    try:
        psm.append(last_val(f"fim50psm-s{s}")[0])
    except FileNotFoundError:
        pass
if psm:
    print(f"FIM 0.5 trained PSM only (--fim-mode psm), {len(psm)} seed(s): " + " ".join(f"{v:.4f}" for v in psm) + f"; mean ± sd {ms(psm)}")

print()
print("## infilling success, greedy, 40 held-out functions per span kind: pass rate % (exact match %)")
print("FIM prompts: identifier/expression/line middles cut at their first newline (single-line rule);")
print("random spans raw. Prefix-only rows: the model writes the rest of the function.")
rows = [
    ("FIM 0.5, PSM prompt", [f"fim50-s{s}-psm" for s in SEEDS]),
    ("FIM 0.5 trained PSM only, PSM prompt", [f"fim50psm-s{s}-psm" for s in SEEDS]),
    ("FIM 0, prefix only (fair L2R baseline)", [f"fim0-s{s}-prefix" for s in SEEDS]),
    ("FIM 0, PSM prompt (never saw the sentinels)", [f"fim0-s{s}-sentinel" for s in SEEDS]),
    ("FIM 0.5, SPM prompt (seed 0)", ["fim50-s0-spm"]),
    ("FIM 0.5, prefix only (seed 0)", ["fim50-s0-prefix"]),
    ("FIM 0.5 char spans, context-level (= seed 0 above)", ["fim50-s0-psm"]),
    ("FIM 0.5 line spans, context-level", ["fim50-line-psm"]),
    ("FIM 0.5 token spans, context-level", ["fim50-token-psm"]),
    ("FIM 0.5 char spans, document-level", ["fim50-doc-psm"]),
]


def score(r, sp, key, raw=False):
    x = r[sp]
    if not raw and "firstLine" in x:
        return 100 * x["firstLine"][key]
    return 100 * x[key]


def table(raw):
    print("| model, prompt | " + " | ".join(SPANS) + " | mean of the four |")
    print("|---|" + "---:|" * (len(SPANS) + 1))
    for label, names in rows:
        res = [r for r in (evals(n) for n in names) if r]
        if not res:
            continue
        cells = []
        for sp in SPANS + ["all"]:
            if sp == "all":
                p = [statistics.mean(score(r, x, "passRate", raw) for x in SPANS) for r in res]
                e = [statistics.mean(score(r, x, "exactMatch", raw) for x in SPANS) for r in res]
            else:
                p = [score(r, sp, "passRate", raw) for r in res]
                e = [score(r, sp, "exactMatch", raw) for r in res]
            cells.append(f"{ms(p, '{:.1f}')} ({ms(e, '{:.1f}')})")
        print(f"| {label} ({len(res)} run{'s' if len(res) > 1 else ''}) | " + " | ".join(cells) + " |")


table(raw=False)
print()
print("## the same without the single-line cut (generation until <EOT> or 48 tokens)")
table(raw=True)
