#!/usr/bin/env python3
"""Session 5's bundling rule (s5/hypothesis.txt), applied to a session's logs as written:

  (1) notes: the conditioned chain samples' mean strong frames >= 0.8 x the top level's reconstructions
      of the 38 held-out songs (ceiling.ts, 8 s), AND their mean pitch classes >= 0.8 x recon-top's at 4 s
      (diagnose.ts on 8 held-out songs);
  (2) key up to relative: exact two-sided McNemar over all pooled chain pairs, p < 0.05, the conditioned
      arm ahead.

    python3 docs/results/jukebox/judge.py <ceiling.log> <diagnose-top.log> <paired.log> <notes.log>

paired.log is paired.ts's output over the pooled chain-*.json, notes.log notes.ts --pool's over their
WAV directories. Prints each bar, each measure and the verdict; exits 0 whatever the verdict (2 on
unreadable logs).
"""
import re
import sys

from scipy.stats import binomtest


def grab(path, pattern, what):
    text = open(path).read()
    m = re.search(pattern, text, re.M)
    if not m:
        sys.exit(f"judge.py: {path} has no {what} (pattern {pattern!r})")
    return m


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    ceiling, diagnose, paired, notes = sys.argv[1:]
    top_strong = float(grab(ceiling, r"\(top\).*?strong ([0-9.]+)", "top level's strong frames").group(1))
    top_pcs = float(grab(diagnose, r"recon-top .*?pitch classes ([0-9.]+)", "recon-top's pitch classes").group(1))
    m = grab(notes, r"^\s*\d+ directories conditioned\s+n (\d+):.*?strong ([0-9.]+).*?pitch classes ([0-9.]+)", "conditioned notes")
    n_notes, strong, pcs = int(m.group(1)), float(m.group(2)), float(m.group(3))
    m = grab(paired, r"^keyRelative\s+conditioned (\d+) .*?unconditioned (\d+) .*?discordant (\d+) vs (\d+)", "keyRelative row")
    cond, uncond, ahead, behind = (int(g) for g in m.groups())
    n_pairs = int(grab(paired, r"^(\d+) paired requests", "pair count").group(1))
    p = binomtest(ahead, ahead + behind).pvalue if ahead + behind else 1.0

    strong_bar, pcs_bar = 0.8 * top_strong, 0.8 * top_pcs
    ok_strong, ok_pcs = strong >= strong_bar, pcs >= pcs_bar
    ok_key = p < 0.05 and ahead > behind
    print(f"bars: strong frames 0.8 x {top_strong:.3f} = {strong_bar:.4f}; pitch classes 0.8 x {top_pcs:.2f} = {pcs_bar:.3f}")
    print(f"(1) notes over {n_notes} conditioned samples: strong frames {strong:.3f} {'>=' if ok_strong else '<'} {strong_bar:.4f}"
          f" [{'pass' if ok_strong else 'FAIL'}]; pitch classes {pcs:.3f} {'>=' if ok_pcs else '<'} {pcs_bar:.3f} [{'pass' if ok_pcs else 'FAIL'}]")
    print(f"(2) key up to relative over {n_pairs} pairs: conditioned {cond}, unconditioned {uncond}; discordant {ahead} vs {behind};"
          f" exact McNemar p = {p:.2g} [{'pass' if ok_key else 'FAIL'}]")
    verdict = ok_strong and ok_pcs and ok_key
    print("verdict: " + ("BUNDLE (both conditions hold)" if verdict else "do not bundle"))


if __name__ == "__main__":
    main()
