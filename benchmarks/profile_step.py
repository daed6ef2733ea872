"""Where a zoo model's training step spends its time: seconds per op, forward and backward.

    python benchmarks/profile_step.py deep-cnn            # batch 100, 20 steps, 1 thread
    python benchmarks/profile_step.py simple-cnn --steps 50 --threads 2

Every ``Function`` subclass's ``forward`` and ``backward`` is wrapped with a timer for the run
(and the convolution's im2col copy, so a conv's time splits into the copy and the rest, which is
its matrix products). The table lists each op's share of the measured step, then what is left:
the optimizer step, the loss, the engine (graph recording, topological sort, tensor wrapping).
A profile of one library on one machine, not a comparison: bench_cnn.py has the ratios.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (before NumPy: pins threads)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a zoo name: simple-cnn, deep-cnn, deep-cnn-bn, row-lstm ...")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (1)")
    p.add_argument("--steps", type=int, default=20, help="profiled steps after 3 warm-up (20)")
    p.add_argument("--batch-size", type=int, default=100, help="(100)")
    p.add_argument(
        "--tune-allocator",
        action="store_true",
        help="call zerograd.backend.tune_allocator() first (run with ZEROGRAD_MALLOC=system "
        "to compare: importing zerograd calls it otherwise)",
    )
    return p.parse_args(argv)


ARGS = parse_args()
harness.pin_threads(ARGS.threads)

import numpy as np  # noqa: E402

import zerograd as zg  # noqa: E402
from zerograd import models, nn, optim  # noqa: E402
from zerograd.autograd import Function  # noqa: E402
from zerograd.functional import conv  # noqa: E402

SPENT = collections.defaultdict(float)  # (label) -> seconds


def _timed(label, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[label] += time.perf_counter() - start

    return wrapper


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def instrument() -> None:
    for cls in set(_subclasses(Function)):
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                setattr(cls, method, _timed(f"{cls.__name__}.{method}", cls.__dict__[method]))
    conv._im2col = _timed("conv im2col copy (inside Conv2d)", conv._im2col)


def main() -> None:
    if ARGS.tune_allocator:
        print(f"tune_allocator(): {zg.backend.tune_allocator()}")
    zg.manual_seed(0)
    model = models.create(ARGS.model)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = zg.tensor(rng.random((ARGS.batch_size, 1, 28, 28), dtype=np.float32))
    t = zg.tensor(rng.integers(0, 10, ARGS.batch_size))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    instrument()
    start = time.perf_counter()
    for _ in range(ARGS.steps):
        step()
    total = (time.perf_counter() - start) / ARGS.steps
    print(f"{ARGS.model}: training step, batch {ARGS.batch_size}, {ARGS.threads} thread(s), "
          f"{total * 1e3:.1f} ms per step (profiled, timers included)")  # fmt: skip
    print(f"  /proc/pressure/cpu: {harness.cpu_pressure()}")
    rows = sorted(SPENT.items(), key=lambda kv: -kv[1])
    accounted = sum(v for k, v in rows if not k.startswith("conv im2col"))
    for label, seconds in rows:
        ms = seconds / ARGS.steps * 1e3
        print(f"  {label:<40} {ms:8.2f} ms  {ms / (total * 1e3) * 100:5.1f}%")
    rest = total - accounted / ARGS.steps
    print(f"  {'everything else (optimizer, engine)':<40} {rest * 1e3:8.2f} ms  "
          f"{rest / total * 100:5.1f}%")  # fmt: skip


if __name__ == "__main__":
    main()
