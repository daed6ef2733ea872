"""Memory over a long run: does anything grow from epoch to epoch? (No graph, gradient or buffer
should outlive its step.)

Run from the repository root with the MNIST files in ZEROGRAD_DATA::

    ZEROGRAD_DATA=../shared/data python benchmarks/long_run_memory.py
    python benchmarks/long_run_memory.py --epochs 20 --cnn-train 10000 --json memory.json

Two runs of ``zerograd.train.fit``, as a user trains (DataLoader, shuffling, validation every
epoch, accuracy metric), each for ``--epochs`` epochs:

- MLP 784-100-10 (ReLU), SGD with momentum, batch 100, on ``--mlp-train`` MNIST training images
  (all 60,000 by default), validated on the 10,000 test images;
- the course's SimpleConvNet (``--cnn-filters`` 5x5 filters, 100 hidden units), Adam, batch 100,
  on the first ``--cnn-train`` training images (a subset: a CNN epoch on 2 cores takes minutes on
  the full set), validated on the first 1,000 test images.

After every epoch (from a callback, without forcing a garbage collection) it records the process's
resident set size (``VmRSS``; the peak ``VmHWM`` from ``harness.peak_rss_mb``), tracemalloc's
current and per-epoch peak traced memory (NumPy reports its array buffers to tracemalloc, so
this covers the arrays; the NumPy share is given separately), and the number of live graph nodes
(``Function`` objects; 2 are expected: the last batch's output and loss, which ``fit`` still
holds, their graphs already freed). tracemalloc slows training down, so the epoch times are not
speeds.

Verdict per run: epoch 20 against epoch 2 (epoch 1 includes warm-up: BLAS buffers, allocator
pools, caches). Flat means RSS within ``--rss-tol`` MB and NumPy's traced memory within
``--traced-tol`` MB; the numbers are printed whatever they are.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (before NumPy: pins threads)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="See the module docstring for the method.",
    )
    p.add_argument("--epochs", type=int, default=20, help="epochs per run (20)")
    p.add_argument("--threads", type=int, default=2, help="BLAS threads (2)")
    p.add_argument("--mlp-train", type=int, default=60000, help="MLP training images (60000)")
    p.add_argument("--cnn-train", type=int, default=10000, help="CNN training images (10000)")
    p.add_argument("--cnn-filters", type=int, default=8, help="CNN 5x5 filters (8)")
    p.add_argument("--rss-tol", type=float, default=5.0, help="flat RSS tolerance, MB (5)")
    p.add_argument("--traced-tol", type=float, default=1.0, help="flat traced tolerance, MB (1)")
    p.add_argument("--only", choices=["mlp", "cnn"], help="run one model only")
    p.add_argument("--top", type=int, default=5, help="allocation sites of growth to list (5)")
    p.add_argument("--json", metavar="PATH", help="also write the per-epoch rows as JSON")
    return p.parse_args(argv)


ARGS = parse_args()
THREADS = harness.pin_threads(ARGS.threads)

import numpy as np  # noqa: E402

import zerograd as zg  # noqa: E402
from zerograd import nn, optim  # noqa: E402
from zerograd.autograd import Function  # noqa: E402
from zerograd.data import DataLoader, Subset  # noqa: E402
from zerograd.data.datasets import MNIST  # noqa: E402
from zerograd.models import SimpleConvNet  # noqa: E402
from zerograd.train import Callback, fit  # noqa: E402

MB = 1024 * 1024
NUMPY_DOMAIN = np.lib.tracemalloc_domain  # where NumPy reports its array buffers


def rss_mb() -> float:
    """This process's resident set size now (``VmRSS``), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def numpy_traced_mb() -> float:
    """Memory NumPy's live array buffers hold, as tracemalloc traced it."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.DomainFilter(inclusive=True, domain=NUMPY_DOMAIN)]
    )
    return sum(stat.size for stat in snapshot.statistics("filename")) / MB


def live_nodes() -> int:
    return sum(isinstance(o, Function) for o in gc.get_objects())


class MemoryLog(Callback):
    """After each epoch: RSS, tracemalloc current / peak (this epoch), NumPy's share, nodes."""

    def __init__(self, epochs: int):
        self.rows = []
        self.epochs = epochs
        self.snapshot = None  # epoch 2's, to say where any growth after it was allocated

    def on_epoch_begin(self, trainer, epoch):
        tracemalloc.reset_peak()
        self.start = time.perf_counter()

    def on_epoch_end(self, trainer, epoch, logs):
        current, peak = tracemalloc.get_traced_memory()
        row = {
            "epoch": epoch,
            "rss_mb": rss_mb(),
            "peak_rss_mb": harness.peak_rss_mb(),
            "traced_mb": current / MB,
            "traced_peak_mb": peak / MB,
            "numpy_traced_mb": numpy_traced_mb(),
            "live_nodes": live_nodes(),
            "loss": logs["loss"],
            "val_accuracy": logs.get("val_accuracy", float("nan")),
            "seconds": time.perf_counter() - self.start,
        }
        self.rows.append(row)
        print(format_row(row), flush=True)
        if epoch == 2 or epoch == self.epochs:
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            if epoch == 2:
                self.snapshot = snapshot
            elif self.snapshot is not None:
                self.growth = snapshot.compare_to(self.snapshot, "lineno")[: ARGS.top]


HEADER = (
    f"{'epoch':>5} {'RSS MB':>8} {'peak RSS':>9} {'traced MB':>10} {'traced peak':>12} "
    f"{'NumPy MB':>9} {'nodes':>6} {'loss':>7} {'val acc':>8} {'s':>6}"
)


def format_row(r: dict) -> str:
    return (
        f"{r['epoch']:>5} {r['rss_mb']:8.1f} {r['peak_rss_mb']:9.1f} {r['traced_mb']:10.2f} "
        f"{r['traced_peak_mb']:12.2f} {r['numpy_traced_mb']:9.2f} {r['live_nodes']:6d} "
        f"{r['loss']:7.4f} {r['val_accuracy']:8.4f} {r['seconds']:6.1f}"
    )


def verdict(rows: list) -> dict:
    """Epoch 2 against the last epoch (epoch 1 holds the warm-up)."""
    first, last = rows[1] if len(rows) > 1 else rows[0], rows[-1]
    d_rss = last["rss_mb"] - first["rss_mb"]
    d_traced = last["traced_mb"] - first["traced_mb"]
    d_numpy = last["numpy_traced_mb"] - first["numpy_traced_mb"]
    flat = abs(d_rss) <= ARGS.rss_tol and abs(d_numpy) <= ARGS.traced_tol
    print(
        f"  epoch {first['epoch']} -> {last['epoch']}: RSS {first['rss_mb']:.1f} -> "
        f"{last['rss_mb']:.1f} MB ({d_rss:+.1f} MB), traced {first['traced_mb']:.2f} -> "
        f"{last['traced_mb']:.2f} MB ({d_traced:+.2f} MB), NumPy {first['numpy_traced_mb']:.2f} "
        f"-> {last['numpy_traced_mb']:.2f} MB ({d_numpy:+.2f} MB), live graph nodes "
        f"{last['live_nodes']}"
    )
    print(
        f"  verdict: {'FLAT' if flat else 'GROWS'} (tolerance: RSS {ARGS.rss_tol} MB, NumPy "
        f"traced {ARGS.traced_tol} MB)"
    )
    return {
        "rss_diff_mb": d_rss,
        "traced_diff_mb": d_traced,
        "numpy_diff_mb": d_numpy,
        "flat": flat,
    }


def run(name: str, model, optimizer, train_set, val_set) -> dict:
    print(f"\n== {name}: {len(train_set)} train / {len(val_set)} validation images", flush=True)
    print(HEADER, flush=True)
    log = MemoryLog(ARGS.epochs)
    fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        DataLoader(train_set, batch_size=100, shuffle=True),
        epochs=ARGS.epochs,
        val_loader=DataLoader(val_set, batch_size=1000),
        callbacks=[log],
        progress=False,
    )
    result = {"name": name, "rows": log.rows, **verdict(log.rows)}
    if getattr(log, "growth", None):
        print(f"  where traced memory changed most, epoch 2 -> {ARGS.epochs} (top {ARGS.top}):")
        for stat in log.growth:
            frame = stat.traceback[0]
            where = f"{os.path.relpath(frame.filename)}:{frame.lineno}"
            print(f"    {stat.size_diff / 1024:+8.1f} KiB {stat.count_diff:+6d} blocks  {where}")
    return result


def main() -> int:
    if not os.environ.get("ZEROGRAD_DATA"):
        sys.exit(
            "long_run_memory: set ZEROGRAD_DATA to the folder holding mnist/ "
            "(e.g. ZEROGRAD_DATA=../shared/data)."
        )
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print("threads: " + ", ".join(f"{k}={v}" for k, v in THREADS.items()))
    print(f"cpu pressure at start: {harness.cpu_pressure()}")
    print(
        "columns: RSS now and peak (VmRSS, VmHWM); tracemalloc's traced memory now and its peak "
        "during the epoch; NumPy's array buffers within it; live graph nodes (2 = the last "
        "batch's output and loss, which fit still holds, their graphs freed); s = epoch seconds "
        "under tracemalloc on a shared machine, not a speed"
    )
    tracemalloc.start()
    results = []
    if ARGS.only in (None, "mlp"):
        zg.manual_seed(0)
        train = MNIST(train=True, flatten=True)
        train = Subset(train, range(min(ARGS.mlp_train, len(train))))
        model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        results.append(run("MLP 784-100-10", model, opt, train, MNIST(train=False, flatten=True)))
        del train, model, opt
    if ARGS.only in (None, "cnn"):
        zg.manual_seed(0)
        train = Subset(MNIST(train=True), range(ARGS.cnn_train))
        val = Subset(MNIST(train=False), range(1000))
        model = SimpleConvNet(filters=ARGS.cnn_filters)
        opt = optim.Adam(model.parameters(), lr=1e-3)
        results.append(run(f"SimpleConvNet({ARGS.cnn_filters} filters)", model, opt, train, val))
    print(f"\ncpu pressure at end: {harness.cpu_pressure()}")
    print("summary (epoch 2 -> last):")
    for r in results:
        print(
            f"  {r['name']:<28} RSS {r['rss_diff_mb']:+7.1f} MB   NumPy traced "
            f"{r['numpy_diff_mb']:+6.2f} MB   all traced {r['traced_diff_mb']:+6.2f} MB   "
            f"{'FLAT' if r['flat'] else 'GROWS'}"
        )
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0 if all(r["flat"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
