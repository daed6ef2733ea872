"""Transformer benchmark: a GPT training step and MultiheadAttention, zerograd vs PyTorch (CPU,
float32).

Run from the repository root (PyTorch must be installed; it is the ``test`` extra)::

    python benchmarks/bench_transformer.py                  # 2 threads, 5 rounds
    python benchmarks/bench_transformer.py --threads 1 --rounds 3 --json transformer.json

The workloads, as ratios zerograd / PyTorch (lower is better; no targets yet):

1. GPT training step (nanoGPT's layout: n_layer=4, n_head=4, n_embd=128, block_size=64,
   vocab 65, dropout 0), batch 12 of 64 tokens: forward, cross-entropy, backward, AdamW step.
2. MultiheadAttention(128, 4, batch_first=True) forward + backward on (12, 64, 128) self-attention
   (need_weights=False, the path the transformer layers take).

Both sides run the same weights: the PyTorch twin (nanoGPT's model.py, the head tied to the token
embedding) loads zerograd's state_dict, and the first losses are printed side by side to show
equal work. Times alternate between the sides round by round in this one process
(``harness.alternate``), threads pinned equally; each round's time is the median of ``--steps``
steps after a warm-up, the reported ratio the median of per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (before NumPy: pins threads)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="See the module docstring for the method.",
    )
    p.add_argument("--threads", type=int, default=2, help="BLAS/torch threads on both sides (2)")
    p.add_argument("--rounds", type=int, default=5, help="alternating timing rounds (5)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per round and side (5)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return p.parse_args(argv)


ARGS = parse_args()
THREADS = harness.pin_threads(ARGS.threads)

import numpy as np  # noqa: E402

import zerograd as zg  # noqa: E402
import zerograd.functional as F  # noqa: E402
from zerograd import models, nn, optim  # noqa: E402

CONFIG = dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
BATCH = 12


def torch_gpt(model):
    """nanoGPT's GPT in PyTorch (eval-free: no dropout), with ``model``'s weights."""
    import torch

    t, TF = torch.nn, torch.nn.functional
    cfg = model.config
    C, H = cfg["n_embd"], cfg["n_head"]

    class Block(t.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = t.LayerNorm(C), t.Module()
            self.ln_2, self.mlp = t.LayerNorm(C), t.Module()
            self.attn.c_attn, self.attn.c_proj = t.Linear(C, 3 * C), t.Linear(C, C)
            self.mlp.c_fc, self.mlp.c_proj = t.Linear(C, 4 * C), t.Linear(4 * C, C)

        def forward(self, x):
            B, T, _ = x.shape
            qkv = self.attn.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (a.view(B, T, H, C // H).transpose(1, 2) for a in qkv)
            y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x))))

    class GPT(t.Module):
        def __init__(self):
            super().__init__()
            self.transformer = t.ModuleDict(
                dict(
                    wte=t.Embedding(cfg["vocab_size"], C),
                    wpe=t.Embedding(cfg["block_size"], C),
                    h=t.ModuleList([Block() for _ in range(cfg["n_layer"])]),
                    ln_f=t.LayerNorm(C),
                )
            )
            self.lm_head = t.Linear(C, cfg["vocab_size"], bias=False)
            self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx):
            tr = self.transformer
            x = tr.wte(idx) + tr.wpe(torch.arange(idx.shape[1]))
            for block in tr.h:
                x = block(x)
            return self.lm_head(tr.ln_f(x))

    twin = GPT()
    twin.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
    )
    return twin


def gpt_step(model, opt, cross_entropy, x, t, V):
    """One training step; the same code drives both libraries (their APIs agree)."""
    opt.zero_grad()
    loss = cross_entropy(model(x).reshape(-1, V), t.reshape(-1))
    loss.backward()
    opt.step()
    return float(loss.item())


def bench_gpt() -> dict:
    import torch

    zg.manual_seed(0)
    model = models.GPT(**CONFIG)
    twin = torch_gpt(model)
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    topt = torch.optim.AdamW(twin.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, CONFIG["vocab_size"], (BATCH, CONFIG["block_size"] + 1))
    xz, tz = zg.tensor(ids[:, :-1]), zg.tensor(ids[:, 1:])
    xt, tt = torch.from_numpy(ids[:, :-1]), torch.from_numpy(ids[:, 1:])
    V = CONFIG["vocab_size"]
    first = (
        gpt_step(model, opt, F.cross_entropy, xz, tz, V),
        gpt_step(twin, topt, torch.nn.functional.cross_entropy, xt, tt, V),
    )
    print(f"  GPT: first-step loss zerograd {first[0]:.5f}, torch {first[1]:.5f}")
    result = harness.compare(
        f"GPT training step, batch {BATCH}x{CONFIG['block_size']}",
        lambda: gpt_step(model, opt, F.cross_entropy, xz, tz, V),
        lambda: gpt_step(twin, topt, torch.nn.functional.cross_entropy, xt, tt, V),
        None,
        ARGS.rounds,
        ARGS.steps,
    )
    return {"gpt step": result}


def bench_mha() -> dict:
    import torch

    zg.manual_seed(0)
    mha = nn.MultiheadAttention(128, 4, batch_first=True)
    twin = torch.nn.MultiheadAttention(128, 4, batch_first=True)
    twin.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in mha.state_dict().items()}
    )
    x = np.random.default_rng(1).standard_normal((BATCH, 64, 128)).astype(np.float32)
    xz = zg.tensor(x, requires_grad=True)
    xt = torch.from_numpy(x).requires_grad_(True)

    def ours():
        y, _ = mha(xz, xz, xz, need_weights=False)
        y.sum().backward()
        return y

    def theirs():
        y, _ = twin(xt, xt, xt, need_weights=False)
        y.sum().backward()
        return y

    diff = float(np.abs(ours().data - theirs().detach().numpy()).max())
    print(f"  MultiheadAttention: outputs agree to {diff:.1e}")
    result = harness.compare(
        f"MultiheadAttention fwd+bwd, ({BATCH}, 64, 128)",
        ours,
        theirs,
        None,
        ARGS.rounds,
        ARGS.steps,
    )
    return {"mha fwd+bwd": result}


def main() -> None:
    import torch

    torch.set_num_threads(ARGS.threads)
    print("Transformer benchmark: zerograd / PyTorch time ratios (lower is better), float32")
    print(
        f"  numpy {np.__version__}, torch {torch.__version__}, zerograd {zg.__version__}, "
        f"threads {ARGS.threads} ({', '.join(f'{k}={v}' for k, v in THREADS.items())})"
    )
    print(f"  /proc/pressure/cpu before: {harness.cpu_pressure()}")
    results = {**bench_gpt(), **bench_mha()}
    print(f"  /proc/pressure/cpu after: {harness.cpu_pressure()}")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
