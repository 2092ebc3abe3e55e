#!/usr/bin/env python3
"""Sum ONNX Runtime's own profile of a Tony run by op type and by node.

    TONY_ORT_PROFILE=/tmp/prof tony train vqvae ... --steps 30    # one JSON file per session
    python3 docs/results/engine/ort-profile.py /tmp/prof [--top 15]

Per profile file (largest first): the mean wall time of a run (model_run), each op type's kernel time
per run and share, and the slowest nodes with their input and output shapes.
"""
import collections
import glob
import json
import os
import sys


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit("usage: ort-profile.py <dir of TONY_ORT_PROFILE json files> [--top N]")
    top = int(args[args.index("--top") + 1]) if "--top" in args else 15
    files = sorted(glob.glob(os.path.join(args[0], "*.json")), key=os.path.getsize, reverse=True)
    if not files:
        sys.exit(f"ort-profile.py: no .json profiles in {args[0]} (set TONY_ORT_PROFILE=<dir> for the run)")
    shapes = lambda ts: [list(t.values())[0] for t in ts]
    for f in files:
        events = json.load(open(f))
        runs, run_us = 0, 0
        by_op, by_node, info = collections.Counter(), collections.Counter(), {}
        for e in events:
            if e.get("cat") == "Session" and e["name"] == "model_run":
                runs, run_us = runs + 1, run_us + e["dur"]
            elif e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
                node, a = e["name"][: -len("_kernel_time")], e["args"]
                by_op[a.get("op_name")] += e["dur"]
                by_node[node] += e["dur"]
                info[node] = (a.get("op_name"), shapes(a.get("input_type_shape", [])), shapes(a.get("output_type_shape", [])))
        if not runs:
            continue
        kernels = sum(by_op.values())
        print(f"{os.path.basename(f)}: {runs} runs, {run_us / runs / 1000:.1f} ms a run ({kernels / runs / 1000:.1f} ms in kernels)")
        for op, us in by_op.most_common(top):
            print(f"  {op:22s} {us / runs / 1000:8.1f} ms  {100 * us / kernels:5.1f} %")
        print("  slowest nodes:")
        for node, us in by_node.most_common(top):
            op, i, o = info[node]
            print(f"  {us / runs / 1000:8.1f} ms  {op:16s} {i} -> {o}")


main()
