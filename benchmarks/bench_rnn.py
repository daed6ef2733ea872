"""Recurrent benchmark: one LSTM layer (and GRU, RNN), zerograd vs PyTorch (CPU, float32).

Run from the repository root (PyTorch must be installed; it is the ``test`` extra)::

    python benchmarks/bench_rnn.py                  # 2 threads, 5 rounds
    python benchmarks/bench_rnn.py --threads 1 --json rnn.json

The workload (issue 7's target): one LSTM layer, input 28, hidden 128, sequence 28, batch 100,
batch_first, forward and backward of the sum of its outputs times a fixed random tensor: target
<= 2x PyTorch's time. GRU and tanh RNN layers of the same size are timed too (no target). Both
sides hold the same weights (the PyTorch layer loads zerograd's state_dict: same names and
layouts) and the outputs are compared before timing. Times alternate between the sides round by
round in this one process, threads pinned equally; each round's time is the median of
``--steps`` calls after a warm-up and the reported ratio is the median of per-round ratios.
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
    p.add_argument("--steps", type=int, default=20, help="timed calls per round and side (20)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return p.parse_args(argv)


ARGS = parse_args()
THREADS = harness.pin_threads(ARGS.threads)

import numpy as np  # noqa: E402

import zerograd as zg  # noqa: E402
from zerograd import nn  # noqa: E402

N, L, H_IN, H = 100, 28, 28, 128


def bench_layer(kind: str, target: float | None) -> dict:
    import torch

    zg.manual_seed(0)
    ours = getattr(nn, kind)(H_IN, H, batch_first=True)
    theirs = getattr(torch.nn, kind)(H_IN, H, batch_first=True)
    theirs.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, L, H_IN)).astype(np.float32)
    g = rng.standard_normal((N, L, H)).astype(np.float32)
    xz, gz = zg.tensor(x, requires_grad=True), zg.tensor(g)
    xt, gt = torch.tensor(x, requires_grad=True), torch.from_numpy(g)

    def zg_step():
        ours.zero_grad()
        xz.grad = None
        (ours(xz)[0] * gz).sum().backward()

    def torch_step():
        theirs.zero_grad()
        xt.grad = None
        (theirs(xt)[0] * gt).sum().backward()

    zg_step(), torch_step()
    diff = float(np.abs(xz.grad.numpy() - xt.grad.numpy()).max())
    print(f"  {kind}: input gradients agree to {diff:.1e}")
    label = f"{kind}({H_IN}, {H}), L={L}, N={N}, fwd+bwd"
    return harness.compare(label, zg_step, torch_step, target, ARGS.rounds, ARGS.steps)


def main() -> None:
    import torch

    torch.set_num_threads(ARGS.threads)
    print("RNN benchmark: zerograd / PyTorch time ratios (lower is better), float32")
    print(
        f"  numpy {np.__version__}, torch {torch.__version__}, zerograd {zg.__version__}, "
        f"threads {ARGS.threads} ({', '.join(f'{k}={v}' for k, v in THREADS.items())})"
    )
    print(f"  /proc/pressure/cpu before: {harness.cpu_pressure()}")
    results = {
        kind: bench_layer(kind, 2.0 if kind == "LSTM" else None) for kind in ("LSTM", "GRU", "RNN")
    }
    print(f"  /proc/pressure/cpu after: {harness.cpu_pressure()}")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
