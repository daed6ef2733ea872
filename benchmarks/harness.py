"""Shared measuring helpers for the benchmarks: thread pinning, noise readings, medians, ratios.

Import this module before NumPy or PyTorch: ``pin_threads`` must set the thread variables first.
"""

from __future__ import annotations

import os
import resource
import statistics
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads(n: int) -> dict:
    """Set the BLAS/OpenMP thread variables to ``n`` unless already set; return what was used."""
    used = {}
    for var in THREAD_VARS:
        if var not in os.environ:
            os.environ[var] = str(n)
            used[var] = f"{n} (set by this script)"
        else:
            used[var] = f"{os.environ[var]} (from the environment)"
    return used


def cpu_pressure() -> str:
    """First line of /proc/pressure/cpu: how much the shared machine's CPUs were contended."""
    try:
        with open("/proc/pressure/cpu") as f:
            return f.readline().strip()
    except OSError:
        return "unavailable"


def gemm_probe(calls: int = 100) -> float:
    """GFLOP/s of NumPy's float32 (100x784)@(784x100), a reading of the BLAS speed right now."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((100, 784), dtype=np.float32)
    b = rng.random((784, 100), dtype=np.float32)
    for _ in range(10):
        a @ b
    start = time.perf_counter()
    for _ in range(calls):
        a @ b
    return 2 * 100 * 784 * 100 * calls / (time.perf_counter() - start) / 1e9


def median(values) -> float:
    return statistics.median(values)


def alternate(sides: dict, rounds: int, probe=gemm_probe) -> dict:
    """Time each side once per round, alternating which goes first; return per-side lists.

    ``sides`` maps a name to a function returning seconds. Alternating the order keeps either
    side from always running on a warmer or noisier machine.
    """
    from zerograd.backend import tune_allocator_for_training

    tune_allocator_for_training()  # as training does (fit): freed arrays stay for reuse
    names = list(sides)
    times = {n: [] for n in names}
    probes = []
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        probes.append(probe())
        for n in order:
            times[n].append(sides[n]())
    times["_probes"] = probes
    return times


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB. VmHWM belongs to the address space, which exec
    replaces; ru_maxrss would keep the forking parent's peak, so it is only the fallback."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def per_step(fn, steps: int) -> float:
    """Median seconds of one call over ``steps`` calls."""
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def compare(label: str, zg_fn, torch_fn, target, rounds: int, steps: int) -> dict:
    """Time two sides alternately (``alternate``), print and return medians and the ratio
    (``target``: the ratio to meet, or None)."""
    for _ in range(3):  # warm-up: allocator, BLAS buffers, caches
        zg_fn()
        torch_fn()
    times = alternate(
        {
            "zerograd": lambda: per_step(zg_fn, steps),
            "torch": lambda: per_step(torch_fn, steps),
        },
        rounds,
    )
    ratios = [z / p for z, p in zip(times["zerograd"], times["torch"])]
    zmed, tmed = median(times["zerograd"]), median(times["torch"])
    rmed = median(ratios)
    per_round = "  ".join(f"{r:.2f}" for r in ratios)
    probes = "  ".join(f"{g:.0f}" for g in times["_probes"])
    verdict = "no target" if target is None else f"target <= {target}: "
    if target is not None:
        verdict += "met" if rmed <= target else "MISSED"
    print(
        f"  {label:<38} zerograd {zmed * 1e3:8.2f} ms  torch {tmed * 1e3:8.2f} ms  "
        f"ratio {rmed:5.2f}x  ({verdict})"
    )
    print(f"  {'':<38} rounds: {per_round}   GEMM probe GFLOP/s: {probes}")
    return {"zerograd_s": zmed, "torch_s": tmed, "ratio": rmed, "ratios": ratios, "target": target}
