"""Data-parallel throughput: images/s with 1 and 2 MPI processes, and the share of Allreduce.

Run from the repository root (needs ``pip install "zerograd[mpi]"``; no data files: it trains on
the MNIST sample embedded in the package)::

    python benchmarks/bench_distributed.py
    python benchmarks/bench_distributed.py --models mlp simple-cnn deep-cnn row-lstm --procs 1
    python benchmarks/bench_distributed.py --procs 1 2 4 --images 4000 --json dist.json

For each model and process count N it starts ``mpiexec -n N python THIS --worker ...`` with one
BLAS thread per process, and each rank runs ``zerograd.train.fit`` the way ``zerograd train
--distributed`` does: ``DistributedDataParallel`` (batch norm as ``SyncBatchNorm``) over a
``DistributedLoader`` of the first ``--images`` sample images, global batch ``--batch-size``
(each rank computes B/N of it), SGD with momentum, no progress bar or evaluation. It reports the
last of ``--epochs`` epochs (the first warms caches and allocators):

- images/s: the global batch's images per second of rank 0's epoch wall time;
- step ms: the epoch time per optimizer step (at N = 1, the compute time per step that
  docs/distributed.md's cost model uses);
- allreduce %: the share of the epoch rank 0 spent inside ``zerograd.distributed.all_reduce``
  (the gradient buckets, the loss, SyncBatchNorm's statistics). It includes waiting for the
  slower rank, so on a busy machine it measures load imbalance as much as communication.

On a machine shared with other jobs the numbers move; /proc/pressure/cpu is printed before and
after so the noise shows. Give each process a core of its own (N <= the free cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (before NumPy: pins threads)

MODELS = ("mlp", "simple-cnn")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="See the module docstring for the method.",
    )
    p.add_argument("--models", nargs="+", default=list(MODELS), help="zoo names (mlp simple-cnn)")
    p.add_argument("--procs", nargs="+", type=int, default=[1, 2], help="process counts (1 2)")
    p.add_argument("--images", type=int, default=2000, help="sample images per epoch (2000)")
    p.add_argument("--batch-size", type=int, default=100, help="global batch (100)")
    p.add_argument("--epochs", type=int, default=2, help="epochs; the last is reported (2)")
    p.add_argument("--mpiexec", help="the launcher (default: beside this Python, else on PATH)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--worker", metavar="MODEL", help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = parse_args()
THREADS = harness.pin_threads(1)  # one thread per process: N processes use N cores


def worker(args) -> None:
    """One rank: train ``args.worker`` and print rank 0's numbers as a JSON line."""
    import numpy as np

    import zerograd as zg
    from zerograd import distributed, models, nn, optim
    from zerograd.data import DataLoader, Subset, datasets
    from zerograd.distributed import comm
    from zerograd.train import Callback, fit

    world = distributed.init()
    zg.manual_seed(0)
    model = distributed.SyncBatchNorm.convert_sync_batchnorm(models.create(args.worker))
    net = distributed.DistributedDataParallel(model)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    train = datasets.MNIST(train=True, sample=True)
    train = Subset(train, np.arange(min(args.images, len(train))))
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    loader = distributed.DistributedLoader(loader, seed=0)

    spent = [0.0]
    real = comm.all_reduce

    def timed_all_reduce(array, op="sum"):
        start = time.perf_counter()
        try:
            return real(array, op)
        finally:
            spent[0] += time.perf_counter() - start

    comm.all_reduce = distributed.all_reduce = timed_all_reduce  # fit, DDP and SyncBatchNorm

    per_epoch = []  # seconds inside all_reduce, per epoch

    class AllreduceShare(Callback):
        def on_epoch_begin(self, trainer, epoch):
            spent[0] = 0.0

        def on_epoch_end(self, trainer, epoch, logs):
            per_epoch.append(spent[0])

    history = fit(
        net,
        nn.CrossEntropyLoss(),
        opt,
        loader,
        epochs=args.epochs,
        metrics=(),
        callbacks=[AllreduceShare()],
        progress=False,
    )
    if world.rank == 0:
        seconds = history["seconds"][-1]
        print(
            "RESULT "
            + json.dumps(
                {
                    "model": args.worker,
                    "procs": world.world_size,
                    "images_per_s": history["images_per_s"][-1],
                    "step_ms": 1000 * seconds / len(loader),
                    "allreduce_share": per_epoch[-1] / seconds,
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "grad_mb": sum(p.data.nbytes for p in model.parameters()) / 1e6,
                }
            ),
            flush=True,
        )


def launch(args, mpiexec: str, model: str, procs: int) -> dict:
    cmd = [mpiexec, "-n", str(procs), sys.executable, os.path.abspath(__file__), "--worker", model]
    cmd += ["--images", str(args.images), "--batch-size", str(args.batch_size)]
    cmd += ["--epochs", str(args.epochs)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit(
        f"bench_distributed: {' '.join(cmd)} failed (status {done.returncode}):\n"
        f"{done.stdout}\n{done.stderr}"
    )


def main(args) -> None:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    mpiexec = args.mpiexec or (beside if os.path.exists(beside) else shutil.which("mpiexec"))
    if mpiexec is None:
        raise SystemExit('bench_distributed: no mpiexec; pip install "zerograd[mpi]".')
    print(
        f"Data-parallel throughput: global batch {args.batch_size}, {args.images} sample images "
        f"per epoch, the last of {args.epochs} epochs; one BLAS thread per process."
    )
    print(f"  {os.cpu_count()} CPUs; /proc/pressure/cpu before: {harness.cpu_pressure()}")
    rows = []
    for model in args.models:
        for procs in args.procs:
            rows.append(launch(args, mpiexec, model, procs))
    print(f"  /proc/pressure/cpu after: {harness.cpu_pressure()}")
    header = (
        f"{'model':12s} {'params':>9s} {'grad MB':>8s} {'procs':>5s} {'images/s':>9s} "
        f"{'step ms':>8s} {'speed-up':>8s} {'allreduce %':>11s}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        base = next(
            (b for b in rows if b["model"] == r["model"] and b["procs"] == min(args.procs)), r
        )
        speedup = r["images_per_s"] / base["images_per_s"]
        print(
            f"{r['model']:12s} {r['parameters']:9,d} {r['grad_mb']:8.2f} {r['procs']:5d} "
            f"{r['images_per_s']:9,.0f} {r['step_ms']:8.1f} {speedup:8.2f} "
            f"{100 * r['allreduce_share']:11.1f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "args": vars(args), "threads": THREADS}, f, indent=2)


if __name__ == "__main__":
    if ARGS.worker:
        worker(ARGS)
    else:
        main(ARGS)
