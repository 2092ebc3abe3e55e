"""The PyTorch peer of bench/conv.ts: forward + backward of one 1-D (transposed) convolution per
shape, on the same deterministic inputs as Tony's side, timed over `reps` runs after two warmups.
Reads the shapes as JSON on stdin; prints one JSON line: per shape the median seconds and the sums
of squares of the gradients (Tony's side checks them equal)."""
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def data(n, salt):
    return torch.from_numpy((0.5 * np.sin(np.arange(n, dtype=np.float64) * 0.73 + salt)).astype(np.float32))


def main():
    spec = json.load(sys.stdin)
    torch.set_num_threads(spec["threads"])
    out = []
    for c in spec["shapes"]:
        x = data(int(np.prod(c["x"])), 0.0).reshape(c["x"]).requires_grad_()
        w = data(int(np.prod(c["w"])), 1.0).reshape(c["w"]).requires_grad_()
        o = c["opts"]
        conv = F.conv_transpose1d if c["op"] == "convTranspose1d" else F.conv1d
        kw = dict(stride=o["stride"], padding=o["padding"], dilation=o["dilation"])
        if c["op"] == "convTranspose1d":
            kw["output_padding"] = o.get("outputPadding", 0)
        times = []
        for i in range(spec["reps"] + 2):
            x.grad = None
            w.grad = None
            t0 = time.perf_counter()
            y = conv(x, w, **kw)
            (0.5 * (y * y).sum()).backward()
            t = time.perf_counter() - t0
            if i >= 2:
                times.append(t)
        out.append({"s": statistics.median(times), "gx2": float((x.grad.double() ** 2).sum()), "gw2": float((w.grad.double() ** 2).sum())})
    print(json.dumps({"torch": torch.__version__, "results": out}))


main()
