"""CNN benchmark: the course's SimpleConvNet and DeepConvNet, zerograd vs PyTorch (CPU, float32).

Run from the repository root (PyTorch must be installed; it is the ``test`` extra)::

    python benchmarks/bench_cnn.py                      # 2 threads, 5 rounds, memory too
    python benchmarks/bench_cnn.py --threads 1 --json cnn.json

The workloads (issue 6's targets, as ratios zerograd / PyTorch, lower is better):

1. SimpleConvNet training step, batch 100 (conv 30x5x5 - relu - pool - 100 - 10, cross-entropy,
   backward, SGD momentum step): target <= 1.5x.
2. SimpleConvNet inference on 1,000 images in one batch (eval mode, no graph): target <= 1.3x.
3. DeepConvNet training step, batch 100 (six 3x3 convs, dropout active): target <= 2x.
4. Peak memory of training (``--memory-batches`` batches of 100 from 60,000 uint8 images, the
   MNIST training set when ZEROGRAD_DATA has it, else random images of its size, each batch
   converted to float32 when drawn, on both sides), each side in a fresh child process, peak
   resident set size (VmHWM) including the library's import: target <= 1.5x.

Both sides run the same network with the same starting weights: the PyTorch twin is built layer
for layer from the zerograd model and loads its state_dict (the keys are the same), and the first
losses are printed side by side to show equal work. Times alternate between the sides round by
round in this one process (``harness.alternate``), threads pinned equally; each round's time is the
median of ``--steps`` steps after a warm-up, the reported ratio the median of per-round ratios. A
GEMM probe and /proc/pressure/cpu are printed so a noisy run shows in its own output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (before NumPy: pins threads)

MODELS = ("simple-cnn", "deep-cnn")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="See the module docstring for the method.",
    )
    p.add_argument("--threads", type=int, default=2, help="BLAS/torch threads on both sides (2)")
    p.add_argument("--rounds", type=int, default=5, help="alternating timing rounds (5)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per round and side (10)")
    p.add_argument("--memory-batches", type=int, default=200, help="batches per memory run (200)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory children")
    p.add_argument("--memory-child", nargs=2, metavar=("SIDE", "MODEL"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = parse_args()
THREADS = harness.pin_threads(ARGS.threads)

import numpy as np  # noqa: E402

import zerograd as zg  # noqa: E402
from zerograd import models, nn, optim  # noqa: E402


def torch_twin(model):
    """The PyTorch network with the same layers as the zerograd Sequential, and its weights."""
    import torch

    tnn = torch.nn
    layers = []
    for m in model:
        if isinstance(m, nn.Conv2d):
            layers.append(
                tnn.Conv2d(
                    m.in_channels,
                    m.out_channels,
                    m.kernel_size,
                    m.stride,
                    m.padding,
                    m.dilation,
                    m.groups,
                    bias=m.bias is not None,
                )
            )
        elif isinstance(m, nn.Linear):
            layers.append(tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None))
        elif isinstance(m, nn.MaxPool2d):
            layers.append(tnn.MaxPool2d(m.kernel_size, m.stride, m.padding))
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            cls = tnn.BatchNorm2d if isinstance(m, nn.BatchNorm2d) else tnn.BatchNorm1d
            layers.append(cls(m.num_features, m.eps, m.momentum))
        elif isinstance(m, nn.Dropout):
            layers.append(tnn.Dropout(m.p))
        elif isinstance(m, nn.ReLU):
            layers.append(tnn.ReLU())
        elif isinstance(m, nn.Flatten):
            layers.append(tnn.Flatten())
        else:
            raise TypeError(f"torch_twin: no PyTorch twin for {m!r}")
    twin = tnn.Sequential(*layers)
    twin.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
    )
    return twin


def zerograd_side(name):
    zg.manual_seed(0)
    model = models.create(name)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, opt, nn.CrossEntropyLoss()


def torch_side(model):
    import torch

    twin = torch_twin(model)
    return (
        twin,
        torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9),
        torch.nn.CrossEntropyLoss(),
    )


def step(model, opt, loss_fn, x, t):
    """One training step; the same code drives both libraries (their APIs agree)."""
    opt.zero_grad()
    loss = loss_fn(model(x), t)
    loss.backward()
    opt.step()
    return float(loss.item())


def bench_model(name: str, target: float, batch, batch1000) -> dict:
    """The training step of model ``name`` (and, for simple-cnn, inference) on both sides."""
    import torch

    (xz, tz, xt, tt), (xz1000, xt1000) = batch, batch1000
    model, opt, loss_fn = zerograd_side(name)
    twin, topt, tloss = torch_side(model)
    model.eval(), twin.eval()  # the first losses without dropout: equal work, equal numbers
    first = (step(model, opt, loss_fn, xz, tz), step(twin, topt, tloss, xt, tt))
    model.train(), twin.train()
    print(f"  {name}: first-step loss zerograd {first[0]:.5f}, torch {first[1]:.5f}")
    results = {
        f"{name} step": harness.compare(
            f"{name} training step, batch 100",
            lambda: step(model, opt, loss_fn, xz, tz),
            lambda: step(twin, topt, tloss, xt, tt),
            target,
            ARGS.rounds,
            ARGS.steps,
        )
    }
    if name == "simple-cnn":
        model.eval(), twin.eval()

        def zg_infer():
            with zg.no_grad():
                return model(xz1000)

        def torch_infer():
            with torch.inference_mode():
                return twin(xt1000)

        diff = float(np.abs(zg_infer().numpy() - torch_infer().numpy()).max())
        print(f"  {name}: inference outputs agree to {diff:.1e}")
        results[f"{name} inference"] = harness.compare(
            f"{name} inference, 1,000 images", zg_infer, torch_infer, 1.3, ARGS.rounds, ARGS.steps
        )
    return results


def bench_times() -> dict:
    import torch

    torch.set_num_threads(ARGS.threads)
    rng = np.random.default_rng(0)
    x = rng.random((100, 1, 28, 28), dtype=np.float32)
    t = rng.integers(0, 10, 100)
    x1000 = rng.random((1000, 1, 28, 28), dtype=np.float32)
    batch = (zg.tensor(x), zg.tensor(t), torch.from_numpy(x), torch.from_numpy(t))
    batch1000 = (zg.tensor(x1000), torch.from_numpy(x1000))
    results = {}
    for name, target in (("simple-cnn", 1.5), ("deep-cnn", 2.0)):
        results.update(bench_model(name, target, batch, batch1000))
    return results


def training_images():
    """(uint8 images (60000, 1, 28, 28), int64 labels): MNIST's when found, else random."""
    from zerograd.data.datasets import find_mnist_files

    if find_mnist_files("mnist") is not None:
        from zerograd.data.datasets import MNIST

        ds = MNIST(train=True)
        return ds.data.reshape(-1, 1, 28, 28), np.asarray(ds.targets, dtype=np.int64), "MNIST"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60000, 1, 28, 28), dtype=np.uint8)
    return images, rng.integers(0, 10, 60000), "random images of MNIST's size"


def memory_child(side: str, name: str) -> None:
    images, labels, _ = training_images()
    order = np.random.default_rng(0).permutation(len(images))
    model, opt, loss_fn = zerograd_side(name)
    if side == "torch":
        import torch

        torch.set_num_threads(ARGS.threads)
        model, opt, loss_fn = torch_side(model)
        wrap = torch.from_numpy
    else:
        wrap = zg.tensor
    for b in range(ARGS.memory_batches):
        idx = order[(b * 100) % 60000 :][:100]
        x = images[idx].astype(np.float32) / 255.0
        step(model, opt, loss_fn, wrap(x), wrap(labels[idx]))
    print(json.dumps({"side": side, "model": name, "peak_rss_mb": harness.peak_rss_mb()}))


def peak_memory(side: str, name: str) -> float:
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", side, name]
    cmd += ["--threads", str(ARGS.threads), "--memory-batches", str(ARGS.memory_batches)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def main() -> None:
    if ARGS.memory_child:
        memory_child(*ARGS.memory_child)
        return
    import torch

    print("CNN benchmark: zerograd / PyTorch time and memory ratios (lower is better), float32")
    print(
        f"  numpy {np.__version__}, torch {torch.__version__}, zerograd {zg.__version__}, "
        f"threads {ARGS.threads} ({', '.join(f'{k}={v}' for k, v in THREADS.items())})"
    )
    print(f"  /proc/pressure/cpu before: {harness.cpu_pressure()}")
    results = bench_times()
    if not ARGS.no_memory:
        source = training_images()[2]
        for name in MODELS:
            zmem, tmem = peak_memory("zerograd", name), peak_memory("torch", name)
            ratio = zmem / tmem
            results[f"{name} memory"] = {"zerograd_mb": zmem, "torch_mb": tmem, "ratio": ratio}
            met = "met" if ratio <= 1.5 else "MISSED"
            print(
                f"  {name} peak RSS training {ARGS.memory_batches} batches of 100 ({source}): "
                f"zerograd {zmem:.0f} MB, torch {tmem:.0f} MB, ratio {ratio:.2f}x "
                f"(target <= 1.5: {met})"
            )
    print(f"  /proc/pressure/cpu after: {harness.cpu_pressure()}")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
