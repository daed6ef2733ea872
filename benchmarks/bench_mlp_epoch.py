"""One MNIST training epoch, zerograd vs PyTorch: time (one process, alternating) and peak memory.

Run from the repository root with the MNIST files in ZEROGRAD_DATA::

    ZEROGRAD_DATA=../shared/data python benchmarks/bench_mlp_epoch.py
    python benchmarks/bench_mlp_epoch.py --rounds 7 --threads 2 --json epoch.json

The workload (issue 4's target): a 784-100-10 ReLU MLP, batch 100, plain SGD (lr 0.1), float32,
one pass over the 60,000 training images in shuffled order, cross-entropy loss.

- zerograd runs the path a user runs: ``DataLoader(MNIST(flatten=True), 100, shuffle=True)`` (data
  kept as uint8, converted per batch) and ``zerograd.train.fit`` with no metrics or progress.
- PyTorch runs its fastest idiomatic loop: the images converted to one float32 tensor up front and
  batches cut from a ``randperm`` by indexing (``torch.utils.data.DataLoader`` would add ~0.3 s of
  per-sample collation and make the comparison unfair to PyTorch).

Time: both sides alternate over ``--rounds`` rounds in this one process, threads pinned equally
(``--threads``); the ratio is zerograd / PyTorch per round, and its median is reported (below 1:
zerograd faster). A GEMM probe and /proc/pressure/cpu are printed per round so noise shows.

Peak memory: each side trains one epoch in a fresh child process and reports its peak resident set
size (``VmHWM``), including the library's import and the data, as a user's process sees it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

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
    p.add_argument("--hidden", type=int, default=100, help="hidden units (100)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory children")
    p.add_argument("--memory-child", choices=["zerograd", "torch"], help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = parse_args()
THREADS = harness.pin_threads(ARGS.threads)

import numpy as np  # noqa: E402

import zerograd as zg  # noqa: E402
from zerograd import nn, optim  # noqa: E402
from zerograd.data import DataLoader  # noqa: E402
from zerograd.data.datasets import MNIST  # noqa: E402
from zerograd.train import fit  # noqa: E402


def load_data():
    if not os.environ.get("ZEROGRAD_DATA"):
        sys.exit(
            "bench_mlp_epoch: set ZEROGRAD_DATA to the folder holding mnist/ "
            "(e.g. ZEROGRAD_DATA=../shared/data)."
        )
    return MNIST(train=True, flatten=True)


def zerograd_epoch(ds, seed=0):
    zg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, ARGS.hidden), nn.ReLU(), nn.Linear(ARGS.hidden, 10))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(ds, batch_size=100, shuffle=True)
    start = time.perf_counter()
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=1, metrics=(), progress=False)
    seconds = time.perf_counter() - start
    return seconds, history.last["loss"]


def torch_setup(ds):
    import torch

    torch.set_num_threads(ARGS.threads)
    x = torch.from_numpy(ds.data.reshape(len(ds), -1).astype(np.float32) / 255.0)
    return torch, x, torch.from_numpy(ds.targets)


def torch_epoch(torch, X, Y, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, ARGS.hidden), torch.nn.ReLU(), torch.nn.Linear(ARGS.hidden, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    perm = torch.randperm(len(X))
    total = 0.0
    for i in range(0, len(X), 100):
        idx = perm[i : i + 100]
        loss = loss_fn(model(X[idx]), Y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return time.perf_counter() - start, total / len(X)


def memory_child(side: str) -> None:
    ds = load_data()
    if side == "zerograd":
        zerograd_epoch(ds)
    else:
        torch_epoch(*torch_setup(ds))
    print(json.dumps({"side": side, "peak_rss_mb": harness.peak_rss_mb()}))


def peak_memory(side: str) -> float:
    out = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--memory-child",
            side,
            "--threads",
            str(ARGS.threads),
            "--hidden",
            str(ARGS.hidden),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def main() -> None:
    if ARGS.memory_child:
        memory_child(ARGS.memory_child)
        return
    import torch

    print(f"MNIST epoch, MLP 784-{ARGS.hidden}-10, batch 100, SGD lr 0.1, float32")
    print(
        f"  numpy {np.__version__}, torch {torch.__version__}, zerograd {zg.__version__}, "
        f"threads {ARGS.threads} ({', '.join(f'{k}={v}' for k, v in THREADS.items())})"
    )
    print(f"  OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"  /proc/pressure/cpu before: {harness.cpu_pressure()}")
    ds = load_data()
    t = torch_setup(ds)
    zerograd_epoch(ds)  # warm up both (allocator, BLAS threads, caches)
    torch_epoch(*t)
    losses = {}

    def run_zg():
        s, losses["zerograd"] = zerograd_epoch(ds)
        return s

    def run_torch():
        s, losses["torch"] = torch_epoch(*t)
        return s

    times = harness.alternate({"zerograd": run_zg, "torch": run_torch}, ARGS.rounds)
    ratios = [z / p for z, p in zip(times["zerograd"], times["torch"])]
    print(f"  {'round':>5}  {'zerograd s':>10}  {'torch s':>8}  {'ratio':>6}  GEMM probe")
    for i, (z, p, g) in enumerate(zip(times["zerograd"], times["torch"], times["_probes"])):
        print(f"  {i + 1:>5}  {z:10.3f}  {p:8.3f}  {z / p:5.2f}x  {g:5.0f} GFLOP/s")
    zmed, tmed, rmed = (
        harness.median(times["zerograd"]),
        harness.median(times["torch"]),
        harness.median(ratios),
    )
    print(f"  {'median':>5}  {zmed:10.3f}  {tmed:8.3f}  {rmed:5.2f}x")
    print(
        f"  epoch losses: zerograd {losses['zerograd']:.4f}, torch {losses['torch']:.4f} "
        "(different inits and orders; similar values show equal work)"
    )
    print(f"  /proc/pressure/cpu after: {harness.cpu_pressure()}")
    result = {
        "zerograd_s": times["zerograd"],
        "torch_s": times["torch"],
        "ratios": ratios,
        "ratio_median": rmed,
        "gemm_probes": times["_probes"],
    }
    if not ARGS.no_memory:
        zmem, tmem = peak_memory("zerograd"), peak_memory("torch")
        result.update(zerograd_peak_rss_mb=zmem, torch_peak_rss_mb=tmem)
        print(
            f"  peak memory (RSS of a process training one epoch): zerograd {zmem:.0f} MB, "
            f"torch {tmem:.0f} MB, ratio {zmem / tmem:.2f}x (target <= 1.0)"
        )
    print(
        f"MNIST epoch 784-{ARGS.hidden}-10 SGD batch 100: zerograd {zmed:.3f} s, torch "
        f"{tmed:.3f} s, ratio {rmed:.2f}x (target <= 0.8)"
    )
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
