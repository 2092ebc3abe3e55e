"""PyTorch peer of Tony's Point-E base denoiser (src/models/pointe/pointe.ts), for bench/pointe.ts.

Reads Tony's weights (safetensors, Tony's parameter names; Linear weights stored [in, out]) and one
input batch, checks its output against Tony's (printed as max |diff|), then times `evals` forward
passes of the same batch — what 64 Karras Heun steps with guidance cost (127 evaluations of a
doubled batch). Written from the architecture in pointe.ts, not from Tony's code paths: pre-LN
blocks, bidirectional attention, exact GELU, [cos, sin] timestep embedding, caption encoder with a
masked mean. Prints one JSON line.
"""
import argparse
import json
import math
import time

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from torch_gpt import read_safetensors  # noqa: E402  (the same file format, one reader)

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("--width", type=int, required=True)
p.add_argument("--layers", type=int, required=True)
p.add_argument("--heads", type=int, required=True)
p.add_argument("--text-layers", type=int, required=True)
p.add_argument("--evals", type=int, required=True)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
W, H = a.width, a.heads
t = read_safetensors(a.data)
w = {k[len("param:"):]: v for k, v in t.items() if k.startswith("param:")}


def lin(x, name):
    return x @ w[f"{name}.weight"] + w[f"{name}.bias"]


def ln(x, name):
    return torch.nn.functional.layer_norm(x, (W,), w[f"{name}.weight"], w[f"{name}.bias"], 1e-5)


def attn(x, name, mask=None):
    B, T, _ = x.shape
    q, k, v = lin(x, f"{name}.qkv").split(W, dim=2)
    q, k, v = (z.reshape(B, T, H, W // H).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
    y = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return lin(y.transpose(1, 2).reshape(B, T, W), f"{name}.proj")


def block(x, name, mask=None):
    x = x + attn(ln(x, f"{name}.ln_1"), f"{name}.attn", mask)
    return x + lin(torch.nn.functional.gelu(lin(ln(x, f"{name}.ln_2"), f"{name}.mlp.fc")), f"{name}.mlp.proj")


def forward(xt, tt, ids, valid, keep):
    B = xt.shape[0]
    L = ids.shape[1]
    h = w["text.tok.weight"][ids] + w["text.pos.weight"][torch.arange(L)]
    mask = valid[:, None, None, :]  # (B, 1, 1, L): attend to real words only
    for i in range(a.text_layers):
        h = block(h, f"text.h.{i}", mask)
    h = ln(h, "text.ln")
    m = valid.float()[:, :, None]
    text = (h * m).sum(1) / m.sum(1).clamp(min=1)
    cond = lin(text * keep, "cond_proj")
    half = W // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half).float()
    args = tt[:, None] * freqs[None]
    temb = lin(torch.nn.functional.gelu(lin(torch.cat([torch.cos(args), torch.sin(args)], 1), "time_embed.fc")), "time_embed.proj")
    x = torch.cat([cond[:, None], temb[:, None], lin(xt, "input_proj")], 1)
    x = ln(x, "ln_pre")
    for i in range(a.layers):
        x = block(x, f"h.{i}")
    return lin(ln(x, "ln_post")[:, 2:], "output_proj")


with torch.inference_mode():
    args = (t["xt"], t["t"], t["ids"].long(), t["valid"].bool(), t["keep"])
    out = forward(*args)
    diff = float((out - t["out"]).abs().max())
    forward(*args)  # warm-up
    t0 = time.perf_counter()
    for _ in range(a.evals):
        forward(*args)
    seconds = time.perf_counter() - t0
print(json.dumps({"torch": torch.__version__, "max_abs_diff": diff, "seconds": seconds}))
