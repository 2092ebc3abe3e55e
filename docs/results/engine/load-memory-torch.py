"""
PyTorch's side of load-memory.ts: the same GPT checkpoint (Tony's safetensors file, read with the
`safetensors` package's memory-mapped load_file, as a PyTorch user would — `pip install safetensors`
in the bench venv; without it, the bench peer's numpy reader) into the bench's PyTorch twin
(bench/peers/torch_gpt.py), then 8 greedy tokens from the same prompt under torch.inference_mode on
2 threads; peak RSS after loading and after the tokens, in MB.

  ~/.cache/tony/bench-venv/bin/python docs/results/engine/load-memory-torch.py <checkpoint dir>
"""

import json
import os
import resource
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench", "peers"))
import torch  # noqa: E402
from torch_gpt import GPT, read_safetensors  # noqa: E402


def mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


ckpt = sys.argv[1]
torch.set_num_threads(2)
start = mb()
cfg = json.load(open(os.path.join(ckpt, "config.json")))["model"]
try:
    from safetensors.torch import load_file

    weights, reader = load_file(os.path.join(ckpt, "model.safetensors")), "safetensors.load_file (mmap)"
except ImportError:
    weights, reader = read_safetensors(os.path.join(ckpt, "model.safetensors")), "numpy reader"
model = GPT(cfg, weights)
loaded = mb()
with torch.inference_mode():
    idx = torch.tensor([list(b"def main(")])
    logits, cache = model.step(idx, 0, None)
    pos, out = idx.shape[1], []
    for _ in range(8):
        nxt = logits.argmax(-1, keepdim=True)
        out.append(nxt.item())
        logits, cache = model.step(nxt, pos, cache)
        pos += 1
print(f"torch {torch.__version__} ({reader}): peak RSS {start} MB at start, {loaded} MB after loading, {mb()} MB after 8 tokens ({out})")
