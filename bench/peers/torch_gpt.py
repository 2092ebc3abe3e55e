"""The PyTorch peer of `npm run bench -- engine` and `-- decode`.

The same GPT as Tony's src/models/gpt/gpt.ts (nanoGPT's model.py, GPT-2's architecture): token +
learned position embeddings, pre-LayerNorm blocks (eps 1e-5) with causal self-attention and an
exact-erf GELU MLP, a final LayerNorm and a head tied to the token embedding. Parameters keep Tony's
names and layouts (a Linear's weight is [in, out], so x @ W), and are read, with the batches, from
the safetensors file the benchmark writes: both sides start from identical numbers.

  python torch_gpt.py train  --data d.safetensors --cfg '{"vocabSize":512,...}' --steps 12 --compile 0
  python torch_gpt.py decode --data d.safetensors --cfg '{...}' --batch 8 --new 256

Each prints one JSON line on stdout. Training is forward + backward + global-norm clipping (1.0) +
AdamW (β 0.9/0.95, eps 1e-8, decay 0.1 on matrices only, warmup 20 steps), Tony's defaults
(src/engine/optim.ts). Decoding is greedy with a growing KV cache (what a Hugging Face style loop
does): the prompt is prefilled once, then each step attends over the filled positions only.
"""

import argparse
import json
import math
import os
import resource
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

# Clock ticks since boot at which this process started (/proc/self/stat field 22): start-up is
# measured from the exec, as Tony's is from Node's time origin.
with open("/proc/self/stat") as f:
    _START = int(f.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")


def since_start_ms():
    return (time.clock_gettime(time.CLOCK_BOOTTIME) - _START) * 1000


def read_safetensors(path):
    """safetensors: u64 header length, a JSON header {name: {dtype, shape, data_offsets}}, raw data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    base = 8 + n
    dtypes = {"F32": np.float32, "I64": np.int64, "I32": np.int32}
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        arr = np.frombuffer(blob[base + a : base + b], dtype=dtypes[h["dtype"]]).reshape(h["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


class GPT(torch.nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        self.cfg = cfg
        # Tony's names, with dots swapped for ParameterDict-safe underscores.
        self.p = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(v) for k, v in weights.items()})

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def ln(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.w(f"{name}.weight"), self.w(f"{name}.bias"), 1e-5)

    def lin(self, x, name):
        return torch.addmm(self.w(f"{name}.bias"), x.reshape(-1, x.shape[-1]), self.w(f"{name}.weight")).reshape(
            *x.shape[:-1], -1
        )

    def qkv(self, x, i):
        B, T, C = x.shape
        nh = self.cfg["nHead"]
        q, k, v = self.lin(x, f"h.{i}.attn.qkv").split(C, dim=2)
        return [t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v)]  # (B, nh, T, hs)

    def block_out(self, x, y, i):
        B, T, C = x.shape
        x = x + self.lin(y.transpose(1, 2).reshape(B, T, C), f"h.{i}.attn.proj")
        h = F.gelu(self.lin(self.ln(x, f"h.{i}.ln2"), f"h.{i}.mlp.fc"))  # exact erf GELU
        return x + self.lin(h, f"h.{i}.mlp.proj")

    def head(self, x):
        return self.ln(x, "ln_f") @ self.w("wte.weight").t()  # tied head (B, T, V)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.w("wte.weight")[idx] + self.w("wpe.weight")[:T]
        for i in range(self.cfg["nLayer"]):
            q, k, v = self.qkv(self.ln(x, f"h.{i}.ln1"), i)
            x = self.block_out(x, F.scaled_dot_product_attention(q, k, v, is_causal=True), i)
        logits = self.head(x)
        return F.cross_entropy(logits.view(B * T, -1), targets.view(-1))

    def step(self, idx, pos, cache):
        """Tokens idx (B, t) at positions pos.. pos+t-1 over `cache` (per layer (k, v), (B, nh, pos, hs))."""
        T = idx.shape[1]
        x = self.w("wte.weight")[idx] + self.w("wpe.weight")[pos : pos + T]
        new = []
        for i in range(self.cfg["nLayer"]):
            q, k, v = self.qkv(self.ln(x, f"h.{i}.ln1"), i)
            if cache:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
            new.append((k, v))
            # Causal within the new tokens; a single new token sees the whole cache.
            x = self.block_out(x, F.scaled_dot_product_attention(q, k, v, is_causal=T > 1), i)
        return self.head(x[:, -1]), new


# Untimed steps, as the benchmark's (bench/engine.ts WARMUP).
WARMUP = 2


def lr_at(t, lr=6e-4, warmup=20, decay_steps=1000, min_ratio=0.1):
    if t <= warmup:
        return lr * t / warmup
    p = min(max((t - warmup) / (decay_steps - warmup), 0), 1)
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def train(args, cfg, data):
    weights = {k[len("param:") :]: v for k, v in data.items() if k.startswith("param:")}
    model = GPT(cfg, weights)
    decay = [p for n, p in model.p.items() if p.dim() >= 2]
    rest = [p for n, p in model.p.items() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=0.0, betas=(0.9, 0.95), eps=1e-8
    )
    loss_fn = torch.compile(model) if args.compile else model

    def one(t, idx, tgt):
        for g in opt.param_groups:
            g["lr"] = lr_at(t)
        loss = loss_fn(idx, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()  # .item() waits for the step, as Tony's loss comes back to the host

    losses, ms, first, cpu0 = [], [], None, None
    for s in range(args.steps):
        if s == WARMUP:
            cpu0 = time.process_time()  # user + system, all threads
        t0 = time.perf_counter()
        losses.append(one(s + 1, data[f"idx:{s}"], data[f"targets:{s}"]))
        ms.append((time.perf_counter() - t0) * 1000)
        if first is None:
            first = since_start_ms()
    cpu = (time.process_time() - cpu0) * 1000 / (args.steps - WARMUP) if cpu0 is not None else float("nan")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"losses": losses, "ms": ms, "startupMs": first, "peakRssMB": rss, "cpuMsPerStep": cpu, "torch": torch.__version__}
    if args.profile:
        # torch.profiler over `--profile` more steps (the last batch again): self CPU time per op,
        # per step — the kernels PyTorch runs, to set beside ONNX Runtime's profile of Tony's step.
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.profile):
                one(args.steps, data[f"idx:{args.steps - 1}"], data[f"targets:{args.steps - 1}"])
        rows = [(e.key, e.count / args.profile, e.self_cpu_time_total / 1000 / args.profile) for e in prof.key_averages()]
        out["profile"] = sorted(rows, key=lambda r: -r[2])
    print(json.dumps(out))


@torch.inference_mode()
def decode(args, cfg, data):
    weights = {k[len("param:") :]: v for k, v in data.items() if k.startswith("param:")}
    model = GPT(cfg, weights)
    prompt = data["prompt"].view(1, -1).expand(args.batch, -1).contiguous()
    runs, cpu, tokens = [], [], None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        c0 = time.process_time()  # user + system time of every thread of the process
        logits, cache = model.step(prompt, 0, None)
        out = []
        pos = prompt.shape[1]
        for _ in range(args.new):
            nxt = logits.argmax(-1, keepdim=True)  # (B, 1)
            out.append(nxt)
            if len(out) == args.new:
                break
            logits, cache = model.step(nxt, pos, cache)
            pos += 1
        runs.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        tokens = torch.cat(out, 1)[0].tolist()
    print(json.dumps({"ms": runs, "cpu_ms": cpu, "tokens": tokens, "torch": torch.__version__}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "decode"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--cfg", required=True)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--compile", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--new", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", type=int, default=0, help="train: profile this many more steps (torch.profiler)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.loads(a.cfg)
    d = read_safetensors(a.data)
    (train if a.mode == "train" else decode)(a, cfg, d)
