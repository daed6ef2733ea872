"""Core benchmark: zerograd against PyTorch, per-op overhead and one MLP training step.

Run from the repository root (PyTorch must be installed; it is the ``test`` extra)::

    python benchmarks/bench_core.py                          # 2 threads, 5 rounds
    python benchmarks/bench_core.py --openblas-coretype SkylakeX --json bench.json
    python benchmarks/bench_core.py --help

What it measures, in one process, zerograd and PyTorch alternating round by round (the first side
swaps every round, so neither always runs on a warmer or cooler machine):

1. Per-op overhead: the cost of one call of a small op (add, mul, 8x8 matmul, relu, sum, and a
   forward + backward of ``(a * b).sum()``) on tiny float32 tensors, in microseconds. At this size
   the arithmetic is free and the number is the library's Python overhead per op. The ``numpy``
   column is the bare NumPy expression: no library can go below it.
2. One MLP step, 784-100-10, batch 100, float32: linear -> relu -> linear -> cross_entropy (integer
   targets, mean) and backward, grads reset to None first; with ``--with-sgd`` also an in-place
   SGD update. PERF.md explains why this step is decided by per-op overhead, not FLOPs.

Every reported time is a median: within a round over its iterations (or blocks of calls), then over
the rounds. The ratio is zerograd's time divided by PyTorch's, the median of the per-round ratios:
below 1.0 zerograd is faster, and lower is better. Threads are pinned to the same number on both
sides (``--threads``), and the script pauses 0.2 s before each multi-threaded side so that the
other library's idle, still-spinning worker threads don't slow it (see ``SETTLE_S``).

The header records NumPy and PyTorch versions, thread variables, the OpenBLAS kernel in use, a
GEMM probe (also before every MLP round) and ``/proc/pressure/cpu`` before and after, and the CPU
time the hypervisor stole during the run, so a noisy run (a neighbour on the shared machine, see
PERF.md) shows in its own output: rerun when the rounds spread or the GEMM probe drops.
"""

import argparse
import ctypes
import functools
import json
import os
import platform
import statistics
import sys
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="zerograd vs PyTorch: per-op overhead and a 784-100-10 MLP step, as "
        "time ratios zerograd/PyTorch (lower is better; below 1.0 zerograd is faster).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--threads",
        type=int,
        default=2,
        help="threads for both sides: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and "
        "MKL_NUM_THREADS are set to it unless already set, and torch.set_num_threads",
    )
    p.add_argument(
        "--openblas-coretype",
        metavar="NAME",
        default=None,
        help="set OPENBLAS_CORETYPE=NAME before NumPy is imported (e.g. SkylakeX, "
        "Haswell) to choose NumPy's GEMM kernel; unset by default, leaving OpenBLAS's "
        "own choice (or the one in your environment)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds; each round times zerograd and PyTorch once, alternating which goes first",
    )
    p.add_argument("--iters", type=int, default=200, help="MLP steps timed per round and side")
    p.add_argument(
        "--warmup", type=int, default=50, help="untimed MLP steps per side before the first round"
    )
    p.add_argument(
        "--op-calls",
        type=int,
        default=2000,
        help="calls per round and side for each per-op measurement, timed in blocks of 100 calls",
    )
    p.add_argument("--batch", type=int, default=100, help="MLP batch size")
    p.add_argument("--hidden", type=int, default=100, help="MLP hidden width")
    p.add_argument(
        "--with-sgd",
        action="store_true",
        help="include an in-place SGD update in the MLP step (p.data -= lr * "
        "p.grad.data; in torch: p -= lr * p.grad under no_grad)",
    )
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate for --with-sgd")
    p.add_argument("--seed", type=int, default=0, help="seed for parameters and data")
    p.add_argument(
        "--json",
        metavar="PATH",
        default=None,
        help="also write every setting and result to this JSON file",
    )
    args = p.parse_args(argv)
    for name in ("threads", "rounds", "iters", "op_calls", "batch", "hidden"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        p.error(f"--warmup must be 0 or more, got {args.warmup}")
    return args


def pin_environment(args) -> dict:
    """Set thread counts (and the OpenBLAS kernel if asked) before NumPy and PyTorch load.

    Both read these variables once, when first imported; after that they have no effect. Returns
    what was used and where it came from, for the header.
    """
    used = {}
    for var in THREAD_VARS:
        if var in os.environ:
            used[var] = (os.environ[var], "from environment")
        else:
            os.environ[var] = str(args.threads)
            used[var] = (str(args.threads), "set by this script")
    prior = os.environ.get("OPENBLAS_CORETYPE")
    if args.openblas_coretype is not None:
        os.environ["OPENBLAS_CORETYPE"] = args.openblas_coretype
        how = "set by --openblas-coretype"
        if prior is not None and prior != args.openblas_coretype:
            how += f", replacing {prior!r} from environment"
        used["OPENBLAS_CORETYPE"] = (args.openblas_coretype, how)
    elif prior is not None:
        used["OPENBLAS_CORETYPE"] = (prior, "from environment")
    else:
        used["OPENBLAS_CORETYPE"] = (None, "unset: OpenBLAS picks its kernel itself")
    late = [m for m in ("numpy", "torch") if m in sys.modules]
    if late:
        print(f"WARNING: {', '.join(late)} already imported; the settings above may not apply.")
    return used


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cpu_pressure  # noqa: E402  (stdlib only: NumPy not loaded yet)

ARGS = parse_args()  # stdlib only so far: --help answers without loading NumPy or PyTorch
ENVIRONMENT = pin_environment(ARGS)

# NumPy, PyTorch and zerograd (which imports NumPy) load only now, after pin_environment.
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import zerograd  # noqa: E402
import zerograd.functional as F  # noqa: E402

BLOCK = 100  # calls per timed block in the per-op table: long enough for the clock to be exact

# After a call, OpenBLAS's worker threads keep spinning for about 0.1 s (libgomp's, PyTorch's, for
# a few ms). On a 2-core machine they take a core from the other library's first multi-threaded
# GEMMs (measured: PyTorch's 100x784x100 GEMM ran ~3x slower in half its calls right after NumPy
# work). So before timing a multi-threaded side, wait for the other side's threads to go idle.
SETTLE_S = 0.2


def settle() -> None:
    time.sleep(SETTLE_S)


# ---------------------------------------------------------------------------------------------
# what the machine is doing


def cpu_times() -> list | None:
    """The machine's CPU time counters from /proc/stat (user ... steal), if readable."""
    try:
        with open("/proc/stat") as f:
            return [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None


def steal_share(before, after) -> str:
    """Share of CPU time the hypervisor gave to other guests between two ``cpu_times()``.

    A virtual machine's neighbours show here, not in /proc/pressure/cpu (which counts this
    machine's own waiting tasks, this benchmark's threads included).
    """
    if before is None or after is None:
        return "unavailable"
    total = sum(after) - sum(before)
    steal = after[7] - before[7]
    return f"{steal / total:.1%}" if total > 0 else "unavailable"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def openblas_kernel() -> str:
    """The kernel OpenBLAS chose at load time (what OPENBLAS_CORETYPE overrides), if it says.

    Asks each OpenBLAS library mapped into this process for its core name, as threadpoolctl does;
    Linux only, 'unknown' elsewhere.
    """
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower()})
    except OSError:
        return "unknown"
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in (
            "scipy_openblas_get_corename64_",
            "scipy_openblas_get_corename",
            "openblas_get_corename64_",
            "openblas_get_corename",
        ):
            get_name = getattr(lib, symbol, None)
            if get_name is not None:
                get_name.restype = ctypes.c_char_p
                return f"{get_name().decode()} ({os.path.basename(path)})"
    return "unknown"


def gemm_probe(libraries=("numpy", "torch"), runs=5, calls=100) -> dict:
    """GFLOP/s of a float32 (100 x 784) @ (784 x 100) product, median of ``runs`` runs.

    The MLP's first layer is this product; when the probe drops, the machine is busy.
    """
    a = np.random.default_rng(0).random((100, 784), dtype=np.float32)
    b = np.random.default_rng(1).random((784, 100), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    products = {"numpy": lambda: a @ b, "torch": lambda: ta @ tb}
    flops = 2.0 * 100 * 784 * 100
    result = {}
    for name in libraries:
        fn = products[name]
        settle()
        time_calls(fn, 10)  # warm-up
        times = [time_calls(fn, calls) for _ in range(runs)]
        result[name] = flops / statistics.median(times) / 1e9
    settle()  # leave no spinning threads behind for whatever is timed next
    return result


# ---------------------------------------------------------------------------------------------
# timing


def time_calls(fn, calls: int) -> float:
    """Seconds per call of ``fn()``, over ``calls`` calls in a row."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def round_median(fn, blocks: int, calls_per_block: int) -> float:
    """One round: the median over ``blocks`` blocks of seconds per call (one preemption is one
    bad block, not a bad round)."""
    return statistics.median(time_calls(fn, calls_per_block) for _ in range(blocks))


def compare(zg_fn, torch_fn, rounds, blocks, calls_per_block, probe=None, threaded=False):
    """Alternate zerograd and PyTorch for ``rounds`` rounds; per-round medians and their ratios.

    ``probe()``, if given, runs before each round and its values are kept: a slow machine shows.
    ``threaded``: the work uses thread pools, so let the other side's threads settle first.
    """
    zg, pt, probes = [], [], []
    for r in range(rounds):
        if probe is not None:
            probes.append(probe())
        sides = [(zg_fn, zg), (torch_fn, pt)]
        if r % 2:
            sides.reverse()
        for fn, out in sides:
            if threaded:
                settle()
            out.append(round_median(fn, blocks, calls_per_block))
    ratios = [z / t for z, t in zip(zg, pt, strict=True)]
    return {
        "zerograd_s": zg,
        "torch_s": pt,
        "ratios": ratios,
        "zerograd_median_s": statistics.median(zg),
        "torch_median_s": statistics.median(pt),
        "ratio_median": statistics.median(ratios),
        "probes": probes,
    }


def spread(values) -> float:
    """(slowest / fastest - 1) over rounds: 0.05 means rounds differ by 5 %."""
    return max(values) / min(values) - 1


# ---------------------------------------------------------------------------------------------
# 1. per-op overhead


def op_cases():
    """(name, zerograd call, torch call, numpy call) on tiny float32 tensors."""
    rng = np.random.default_rng(ARGS.seed)
    a_np, b_np = rng.random(8, dtype=np.float32), rng.random(8, dtype=np.float32)
    m_np, n_np = rng.random((8, 8), dtype=np.float32), rng.random((8, 8), dtype=np.float32)
    a, b = zerograd.tensor(a_np), zerograd.tensor(b_np)
    m, n = zerograd.tensor(m_np), zerograd.tensor(n_np)
    ta, tb = torch.tensor(a_np), torch.tensor(b_np)
    tm, tn = torch.tensor(m_np), torch.tensor(n_np)
    ga, gb = zerograd.tensor(a_np, requires_grad=True), zerograd.tensor(b_np, requires_grad=True)
    tga, tgb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)

    def zg_fwd_bwd():
        ga.grad = gb.grad = None
        (ga * gb).sum().backward()

    def torch_fwd_bwd():
        tga.grad = tgb.grad = None
        (tga * tgb).sum().backward()

    def np_fwd_bwd():  # what a hand-written layer computes: y, then ga = gy * b, gb = gy * a
        gy = np.ones_like(a_np)
        return (a_np * b_np).sum(), gy * b_np, gy * a_np

    return [
        ("add (8,)", lambda: a + b, lambda: ta + tb, lambda: a_np + b_np),
        ("mul (8,)", lambda: a * b, lambda: ta * tb, lambda: a_np * b_np),
        ("matmul 8x8", lambda: m @ n, lambda: tm @ tn, lambda: m_np @ n_np),
        ("relu (8,)", lambda: a.relu(), lambda: ta.relu(), lambda: np.maximum(a_np, 0)),
        ("sum (8,)", lambda: a.sum(), lambda: ta.sum(), lambda: a_np.sum()),
        ("mul (8,), requires_grad", lambda: ga * gb, lambda: tga * tgb, lambda: a_np * b_np),
        ("(a*b).sum() fwd+bwd", zg_fwd_bwd, torch_fwd_bwd, np_fwd_bwd),
    ]


def bench_ops() -> list:
    blocks = max(1, ARGS.op_calls // BLOCK)
    rows = []
    for name, zg_fn, torch_fn, np_fn in op_cases():
        for fn in (zg_fn, torch_fn, np_fn):
            time_calls(fn, BLOCK)  # warm-up
        row = compare(zg_fn, torch_fn, ARGS.rounds, blocks, BLOCK)
        row["op"] = name
        row["numpy_median_s"] = statistics.median(
            round_median(np_fn, blocks, BLOCK) for _ in range(ARGS.rounds)
        )
        rows.append(row)
    return rows


def print_ops(rows) -> None:
    print(
        f"\n1. Per-op overhead, float32, median µs per call ({ARGS.rounds} rounds x "
        f"{ARGS.op_calls} calls)"
    )
    print(f"   {'op':<26}{'zerograd':>10}{'torch':>10}{'ratio':>9}{'numpy':>9}{'spread':>9}")
    for r in rows:
        noise = max(spread(r["zerograd_s"]), spread(r["torch_s"]))
        zg_us, torch_us, np_us = (
            r[k] * 1e6 for k in ("zerograd_median_s", "torch_median_s", "numpy_median_s")
        )
        print(
            f"   {r['op']:<26}{zg_us:>10.2f}{torch_us:>10.2f}{r['ratio_median']:>8.2f}x"
            f"{np_us:>9.2f}{noise:>8.0%}"
        )
    print(
        "   ratio = zerograd / torch (< 1: zerograd faster); numpy = the bare NumPy expression; "
        "spread = max/min - 1 over rounds, worse side"
    )


# ---------------------------------------------------------------------------------------------
# 2. MLP step


def make_mlp():
    """The same 784-H-10 MLP and batch in zerograd and PyTorch (torch copies zerograd's values)."""
    zerograd.manual_seed(ARGS.seed)
    H, N = ARGS.hidden, ARGS.batch
    zg_params = [
        (zerograd.randn(H, 784) * 0.01).requires_grad_(),
        (zerograd.randn(H) * 0.01).requires_grad_(),
        (zerograd.randn(10, H) * 0.01).requires_grad_(),
        (zerograd.randn(10) * 0.01).requires_grad_(),
    ]
    x = zerograd.rand(N, 784)
    t = zerograd.randint(0, 10, (N,))
    torch_params = [torch.tensor(p.detach().numpy(), requires_grad=True) for p in zg_params]
    return (zg_params, x, t), (torch_params, torch.tensor(x.numpy()), torch.tensor(t.numpy()))


def zerograd_step(params, x, t, sgd: bool, lr: float):
    W1, b1, W2, b2 = params
    for p in params:
        p.grad = None
    h = F.linear(x, W1, b1).relu()
    loss = F.cross_entropy(F.linear(h, W2, b2), t)
    loss.backward()
    if sgd:
        for p in params:
            p.data -= lr * p.grad.data
    return loss


def torch_step(params, x, t, sgd: bool, lr: float):
    W1, b1, W2, b2 = params
    for p in params:
        p.grad = None
    h = TF.linear(x, W1, b1).relu()
    loss = TF.cross_entropy(TF.linear(h, W2, b2), t)
    loss.backward()
    if sgd:
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return loss


def check_same_work(zg, pt) -> None:
    """One step without SGD on both sides: the losses and all gradients must agree.

    rtol 1e-4 as asked; the atol (1e-4 of the gradient's largest entry) only admits entries that
    are near zero, where float32 sums taken in a different order differ relatively most.
    """
    zg_loss = zerograd_step(*zg, sgd=False, lr=0.0)
    pt_loss = torch_step(*pt, sgd=False, lr=0.0)
    np.testing.assert_allclose(zg_loss.item(), pt_loss.item(), rtol=1e-4, err_msg="MLP loss")
    names = ("W1", "b1", "W2", "b2")
    for name, p, q in zip(names, zg[0], pt[0], strict=True):
        g, h = p.grad.numpy(), q.grad.numpy()
        assert g.dtype == np.float32, f"zerograd grad of {name} is {g.dtype}, not float32"
        np.testing.assert_allclose(
            g, h, rtol=1e-4, atol=1e-4 * np.abs(h).max(), err_msg=f"MLP gradient of {name}"
        )
    print(
        f"   check: losses agree ({zg_loss.item():.6f} vs {pt_loss.item():.6f}) and the "
        "gradients of W1, b1, W2, b2 match (rtol 1e-4)"
    )


def bench_mlp() -> dict:
    zg, pt = make_mlp()
    check_same_work(zg, pt)
    sgd, lr = ARGS.with_sgd, ARGS.lr
    zg_fn = functools.partial(zerograd_step, *zg, sgd=sgd, lr=lr)
    torch_fn = functools.partial(torch_step, *pt, sgd=sgd, lr=lr)
    for _ in range(ARGS.warmup):
        zg_fn()
        torch_fn()
    probe = lambda: gemm_probe(("numpy",), runs=3, calls=30)["numpy"]  # ~0.2 s, mostly settling
    return compare(zg_fn, torch_fn, ARGS.rounds, ARGS.iters, 1, probe, threaded=True)


def mlp_label() -> str:
    sgd = " + SGD" if ARGS.with_sgd else ""
    return f"MLP 784-{ARGS.hidden}-10 fwd+bwd{sgd} batch {ARGS.batch}"


def print_mlp(res) -> None:
    print(
        f"\n2. {mlp_label()}, float32, median ms per step ({ARGS.rounds} rounds x "
        f"{ARGS.iters} steps, {ARGS.warmup} warm-up steps)"
    )
    print(f"   {'round':<8}{'zerograd':>10}{'torch':>10}{'ratio':>9}   GEMM probe   first")
    rounds = zip(res["zerograd_s"], res["torch_s"], res["ratios"], res["probes"], strict=True)
    for i, (z, p, r, g) in enumerate(rounds, 1):
        first = "torch" if i % 2 == 0 else "zerograd"
        print(f"   {i:<8}{z * 1e3:>10.3f}{p * 1e3:>10.3f}{r:>8.2f}x{g:>7.0f} GFLOP/s   {first}")
    print(
        f"   {'median':<8}{res['zerograd_median_s'] * 1e3:>10.3f}"
        f"{res['torch_median_s'] * 1e3:>10.3f}{res['ratio_median']:>8.2f}x"
    )
    print(
        f"   spread over rounds: zerograd {spread(res['zerograd_s']):.0%}, "
        f"torch {spread(res['torch_s']):.0%}"
    )


# ---------------------------------------------------------------------------------------------


def main() -> None:
    torch.set_num_threads(ARGS.threads)
    zerograd.backend.tune_allocator_for_training()  # as fit does (ZEROGRAD_MALLOC=system: no)
    header = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "zerograd": zerograd.__version__,
        "cpu": f"{cpu_model()}, {os.cpu_count()} logical CPUs",
        "torch.get_num_threads()": torch.get_num_threads(),
        "openblas_kernel": openblas_kernel(),
    }
    print("zerograd vs PyTorch core benchmark (benchmarks/bench_core.py)")
    for key, value in header.items():
        print(f"   {key}: {value}")
    for var, (value, how) in ENVIRONMENT.items():
        print(f"   {var}={value if value is not None else ''} ({how})")
    pressure_before = cpu_pressure()
    times_before = cpu_times()
    print(f"   /proc/pressure/cpu before: {pressure_before}")
    gemm_before = gemm_probe()
    print(
        f"   GEMM probe before, float32 (100x784)@(784x100): numpy {gemm_before['numpy']:.0f} "
        f"GFLOP/s, torch {gemm_before['torch']:.0f} GFLOP/s"
    )

    ops = bench_ops()
    print_ops(ops)
    mlp = bench_mlp()
    print_mlp(mlp)

    gemm_after = gemm_probe()
    pressure_after = cpu_pressure()
    steal = steal_share(times_before, cpu_times())
    print(
        f"\n   GEMM probe after: numpy {gemm_after['numpy']:.0f} GFLOP/s, "
        f"torch {gemm_after['torch']:.0f} GFLOP/s"
    )
    print(f"   /proc/pressure/cpu after: {pressure_after}")
    print(f"   CPU time stolen by the hypervisor during the run (/proc/stat steal): {steal}")

    summary = (
        f"{mlp_label()}: zerograd {mlp['zerograd_median_s'] * 1e3:.2f} ms, torch "
        f"{mlp['torch_median_s'] * 1e3:.2f} ms, ratio {mlp['ratio_median']:.2f}x (target <= 1.0)"
    )
    print("\n" + summary)

    if ARGS.json:
        report = {
            "args": vars(ARGS),
            "header": header,
            "environment": {
                var: {"value": v, "source": how} for var, (v, how) in ENVIRONMENT.items()
            },
            "cpu_pressure": {"before": pressure_before, "after": pressure_after},
            "cpu_steal_share": steal,
            "gemm_gflops": {"before": gemm_before, "after": gemm_after},
            "ops": ops,
            "mlp": mlp,
            "summary": summary,
        }
        with open(ARGS.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"results written to {ARGS.json}")


if __name__ == "__main__":
    main()
