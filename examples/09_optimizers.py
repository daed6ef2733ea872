# %% [markdown]
# # Lesson 9: optimizers, from SGD to AdamW
#
# Gradient descent has one knob, the learning rate, and one weakness: it steps along the gradient,
# which on a stretched valley points mostly across the valley, not along it. The optimizers of
# `zerograd.optim` change the step, each with a one- or two-line rule (θ the parameters, g their
# gradient, η the learning rate, all operations per coordinate):
#
# | optimizer | update | zerograd |
# |---|---|---|
# | SGD | θ ← θ − η g | `optim.SGD(params, lr)` |
# | Momentum | b ← μ b + g,  θ ← θ − η b | `optim.SGD(params, lr, momentum=0.9)` |
# | Nesterov | b ← μ b + g,  θ ← θ − η (g + μ b) | `optim.SGD(..., nesterov=True)` |
# | AdaGrad | s ← s + g²,  θ ← θ − η g / (√s + ε) | `optim.Adagrad(params, lr)` |
# | RMSprop | s ← α s + (1 − α) g²,  θ ← θ − η g / (√s + ε) | `optim.RMSprop(params, lr)` |
# | Adam | m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g², θ ← θ − η m̂ / (√v̂ + ε) | `optim.Adam` |
# | AdamW | θ ← θ (1 − η λ), then the Adam step | `optim.AdamW(..., weight_decay=λ)` |
#
# with Adam's bias corrections m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ) at step t (β1 = 0.9,
# β2 = 0.999), and RMSprop's α = 0.99. Part 1 walks each one on a bowl, Part 2 trains an MLP on
# MNIST with each. `--quick`: 200 MNIST iterations on the sample shipped in the package.
#
# Run it as a script with `python examples/09_optimizers.py` or `zerograd lesson 09_optimizers`
# (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook: `zerograd lesson
# 09_optimizers --notebook`.

# %%
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
import zerograd.functional as F
from zerograd import nn, optim
from zerograd.data import DataLoader
from zerograd.train import evaluate

parser = argparse.ArgumentParser(description="Lesson 9: optimizers, from SGD to AdamW.")
parser.add_argument("--quick", action="store_true", help="200 iterations on the sample")
parser.add_argument("--out", default="runs/lessons/09_optimizers", help="folder for PNGs")
parser.add_argument("--seed", type=int, default=0, help="seed for weights and batches")
parser.add_argument("--iterations", type=int, default=None, help="MNIST iterations")
parser.add_argument("--steps", type=int, default=30, help="steps on the bowl")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (matplotlib, the MNIST files): one line each
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
zg.manual_seed(args.seed)
result = {}

# %% [markdown]
# ## The bowl and the rules on paper
#
# The bowl f(x, y) = x²/20 + y² is 20 times flatter along x than along y: the book's figure. The
# learning rates are the book's for SGD (0.95), Momentum (0.1), AdaGrad (1.5) and Adam (0.3);
# Nesterov takes 0.1 like Momentum, RMSprop 0.1 (its first step is η / √(1 − α) = 1 per
# coordinate) and AdamW 0.3 with a decay of 0.1, large enough to see. `walk` runs one optimizer from
# (−7, 2): the point is `zg.tensor([-7.0, 2.0], requires_grad=True)`, each step computes f, calls
# `backward()` and `opt.step()`. `sgd_by_hand` and `momentum_by_hand` are the formulas in NumPy;
# zerograd writes momentum the PyTorch way, and the book's v ← μ v − η g, θ ← θ + v is the same
# path for a fixed η.

# %%
START = (-7.0, 2.0)  # where every path starts, as in the book's figure

# Learning rates for the bowl: the book's for SGD, Momentum, AdaGrad and Adam; for the others,
# ones that take a comparable first step. AdamW's decay is large enough to see: it pulls every
# coordinate toward 0, which on this bowl is also where the minimum is.
BOWL_OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.95),
    "Momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "AdaGrad": lambda p: optim.Adagrad(p, lr=1.5),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.1),
    "Adam": lambda p: optim.Adam(p, lr=0.3),
    "AdamW": lambda p: optim.AdamW(p, lr=0.3, weight_decay=0.1),
}


def f(x, y):
    """The bowl: 20 times flatter along x than along y."""
    return x**2 / 20 + y**2


def walk(make_optimizer, steps: int) -> np.ndarray:
    """The (steps + 1, 2) path of one optimizer on f from START."""
    # float64 so the by-hand check below agrees to the last digit
    xy = zg.tensor(START, dtype="float64", requires_grad=True)
    opt = make_optimizer([xy])
    path = [xy.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        loss = f(xy[0], xy[1])
        loss.backward()  # xy.grad = (x / 10, 2 y)
        opt.step()
        path.append(xy.data.copy())
    return np.array(path)


def sgd_by_hand(lr: float, steps: int) -> np.ndarray:
    """SGD as the formula on paper, in NumPy: (x, y) <- (x, y) - lr * grad f."""
    xy = np.array(START)
    path = [xy.copy()]
    for _ in range(steps):
        grad = np.array([xy[0] / 10, 2 * xy[1]])
        xy = xy - lr * grad
        path.append(xy.copy())
    return np.array(path)


def momentum_by_hand(lr: float, momentum: float, steps: int) -> np.ndarray:
    """The book's momentum, v <- momentum * v - lr * grad; (x, y) <- (x, y) + v.

    PyTorch (and zerograd) keep b = momentum * b + grad and step by -lr * b: the same path.
    """
    xy, v = np.array(START), np.zeros(2)
    path = [xy.copy()]
    for _ in range(steps):
        grad = np.array([xy[0] / 10, 2 * xy[1]])
        v = momentum * v - lr * grad
        xy = xy + v
        path.append(xy.copy())
    return np.array(path)


# %% [markdown]
# ## Part 1: seven optimizers on the bowl
#
# 30 steps each. Look at the final f: SGD zigzags across the steep direction, the methods with
# momentum overshoot and come back, the adaptive ones (AdaGrad, RMSprop, Adam) scale each
# coordinate by its own history. The last two lines check the library's SGD and momentum against
# the formulas on paper: the differences are at float64 rounding.

# %%
print(f"Part 1: {args.steps} steps on f(x, y) = x^2/20 + y^2 from {START}")
print(f"  {'optimizer':10s} {'final x':>10s} {'final y':>10s} {'f(x, y)':>10s}")
paths = {}
for name, make in BOWL_OPTIMIZERS.items():
    paths[name] = walk(make, args.steps)
    x, y = paths[name][-1]
    print(f"  {name:10s} {x:10.4f} {y:10.4f} {f(x, y):10.4f}")
    result[f"bowl_{name}"] = (float(x), float(y), float(f(x, y)))

# the library's SGD and momentum are the formulas on paper (see the two functions above)
gap_sgd = np.abs(paths["SGD"] - sgd_by_hand(0.95, args.steps)).max()
gap_momentum = np.abs(paths["Momentum"] - momentum_by_hand(0.1, 0.9, args.steps)).max()
print(f"  max |optim.SGD path - SGD by hand|                = {gap_sgd:.2e}")
print(f"  max |optim.SGD(momentum=0.9) path - book's Momentum| = {gap_momentum:.2e}")
result["gap_sgd"], result["gap_momentum"] = float(gap_sgd), float(gap_momentum)

# %% [markdown]
# ## The paths
#
# One panel per optimizer, the bowl's contours in grey; the eighth panel shows how fast each gets
# down the bowl.

# %%
if plt is not None:  # the picture (matplotlib, the plot extra)
    gx, gy = np.meshgrid(np.linspace(-10, 10, 200), np.linspace(-5, 5, 200))
    fig, axes = plt.subplots(2, 4, figsize=(12, 5.5), dpi=80)
    for ax, (name, path) in zip(axes.flat, paths.items()):
        ax.contour(gx, gy, f(gx, gy), levels=np.linspace(0.5, 30, 10), colors="0.75")
        ax.plot(path[:, 0], path[:, 1], "o-", color="tab:red", markersize=3)
        ax.plot(0, 0, "+", color="black", markersize=10)
        x, y = path[-1]
        ax.set(title=f"{name}: f = {f(x, y):.3g}", xlim=(-10, 10), ylim=(-5, 5))
        ax.set(xlabel="x", ylabel="y")
    last = axes.flat[-1]  # the eighth panel: how fast each one gets down the bowl
    for name, path in paths.items():
        last.semilogy(f(path[:, 0], path[:, 1]), label=name)
    last.set(title="f(x, y) per step", xlabel="step", ylabel="f (log scale)")
    last.legend(fontsize=7)
    fig.suptitle("Optimizer paths on f(x, y) = x^2/20 + y^2 from (-7, 2)")
    fig.tight_layout()
    result["paths_png"] = str(out / "09_paths.png")
    fig.savefig(result["paths_png"])
    plt.close(fig)
    show(result["paths_png"])

# %% [markdown]
# ## Part 2: the network for MNIST
#
# A 5-layer ReLU MLP 784-100-100-100-100-10 with He initialisation (std = √(2 / n_in), biases 0),
# the book's experiment; the book's learning rates (0.01; Adam and AdamW 0.001). `train_losses`
# records the loss of every iteration of batch 128.

# %%
# Learning rates for MNIST: the book's defaults (SGD, Momentum, AdaGrad, RMSprop 0.01; Adam 0.001).
MNIST_OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.01),
    "Momentum": lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
    "AdaGrad": lambda p: optim.Adagrad(p, lr=0.01),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.01),
    "Adam": lambda p: optim.Adam(p, lr=0.001),
    "AdamW": lambda p: optim.AdamW(p, lr=0.001, weight_decay=0.01),
}


def make_mlp() -> nn.Sequential:
    """784-100-100-100-100-10 with ReLU, He-initialised as in the book (biases 0)."""
    sizes = [784, 100, 100, 100, 100, 10]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(n_in, n_out)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")  # std = sqrt(2 / n_in)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the output layer: those are the logits


def train_losses(model, opt, loader, iterations: int) -> list:
    """The loss of every iteration, cycling through the loader as many passes as needed."""
    losses = []
    while len(losses) < iterations:
        for x, t in loader:
            loss = F.cross_entropy(model(x), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if len(losses) == iterations:
                break
    return losses


def smooth(values, window: int) -> np.ndarray:
    """Moving average over ``window`` iterations, so the trend shows through the batch noise."""
    return np.convolve(values, np.ones(window) / window, mode="valid")


# %% [markdown]
# ## Part 2: the same seven on MNIST
#
# Every optimizer starts from the same initial weights (`zg.manual_seed` before each model) and sees
# the same batches.

# %%
iterations = args.iterations or (200 if args.quick else 2000)
train, test, what = skipped.mnist_splits(sample=True if args.quick else None, flatten=True)
print(f"\nPart 2: {iterations} iterations of batch 128 on {what} ({len(train)} images),")
print("  5-layer ReLU MLP 784-100-100-100-100-10, He init; test accuracy on", len(test))
losses, accuracies = {}, {}
test_loader = DataLoader(test, batch_size=1000)
for name, make in MNIST_OPTIMIZERS.items():
    zg.manual_seed(args.seed)  # every optimizer starts from the same weights and batches
    model = make_mlp()
    loader = DataLoader(train, batch_size=128, shuffle=True)
    start = time.perf_counter()
    losses[name] = train_losses(model, make(model.parameters()), loader, iterations)
    accuracies[name] = evaluate(model, test_loader)["accuracy"]
    seconds = time.perf_counter() - start
    print(f"  {name:10s} trained and tested in {seconds:5.1f} s")

# %% [markdown]
# ## Part 2: the results
#
# The final loss is the mean training loss of the last 10% of iterations (one batch's loss alone is
# too noisy to rank by), beside the test accuracy.

# %%
# the last 10% of iterations, averaged: one batch's loss alone is too noisy to rank by
tail = max(iterations // 10, 1)
print(f"\n  final loss = mean training loss of the last {tail} iterations")
print(f"  {'optimizer':10s} {'final loss':>11s} {'test acc':>9s}")
for name in MNIST_OPTIMIZERS:
    final = float(np.mean(losses[name][-tail:]))
    print(f"  {name:10s} {final:11.4f} {accuracies[name]:9.4f}")
    result[f"loss_{name}"] = final
    result[f"accuracy_{name}"] = float(accuracies[name])

# %% [markdown]
# ## The loss curves
#
# The training loss of each optimizer, as a moving average so the trend shows through the batch
# noise.

# %%
if plt is not None:  # the pictures (matplotlib, the plot extra)
    window = min(max(iterations // 50, 10), iterations)  # no wider than the run
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=90)
    for name, values in losses.items():
        ax.plot(np.arange(window, len(values) + 1), smooth(values, window), label=name)
    ax.set(
        title=f"MNIST training loss, 5-layer ReLU MLP ({what})",
        xlabel="iteration",
        ylabel=f"cross-entropy (mean of {window} iterations)",
        ylim=(0, 2.5),
    )
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    result["loss_png"] = str(out / "09_mnist_loss.png")
    fig.savefig(result["loss_png"])
    plt.close(fig)
    show(result["loss_png"])

    print(f"\nPictures: {result['paths_png']}, {result['loss_png']}")

# %%
skipped.report()
