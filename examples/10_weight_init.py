# %% [markdown]
# # Lesson 10: weight initialisation, from std 0.01 to He
#
# A layer computes a = W x; with n_in independent inputs and weights of variance Var(W), the
# output's variance is n_in · Var(W) · Var(x) (for zero-mean inputs). Choose Var(W) too large and
# the signal grows layer after layer, too small and it fades to nothing; either way a deep net
# cannot learn. The classic choices, all in `zerograd.nn.init` and applied in place to `nn.Linear`
# weights:
#
# | init | std of W | zerograd |
# |---|---|---|
# | std 1 | 1 | `nn.init.normal_(w, mean=0.0, std=1.0)` |
# | std 0.01 | 0.01 | `nn.init.small_random_(w)` |
# | Xavier (Glorot) | √(2 / (n_in + n_out)) | `nn.init.xavier_normal_(w)` |
# | He (Kaiming) | √(2 / n_in) | `nn.init.kaiming_normal_(w, nonlinearity="relu")` |
#
# Xavier keeps the variance steady for activations that are linear around 0 (sigmoid, tanh); ReLU
# zeroes half of its inputs, so He doubles the variance to make up for it. (The book writes Xavier
# as 1/√n_in; zerograd and PyTorch use Glorot's √(2 / (n_in + n_out)), the same for square
# layers.) `--quick`: 300 MNIST iterations on the sample shipped in the package.
#
# Run it as a script with `python examples/10_weight_init.py` or `zerograd lesson 10_weight_init`
# (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook: `zerograd lesson
# 10_weight_init --notebook`.

# %%
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
import zerograd.functional as F
from zerograd import nn, optim
from zerograd.data import DataLoader
from zerograd.train import evaluate

parser = argparse.ArgumentParser(
    description="Lesson 10: weight initialisation, from std 0.01 to He."
)
parser.add_argument("--quick", action="store_true", help="300 iterations on the sample")
parser.add_argument("--out", default="runs/lessons/10_weight_init", help="folder for PNGs")
parser.add_argument("--seed", type=int, default=0, help="seed for inputs, weights, batches")
parser.add_argument("--iterations", type=int, default=None, help="MNIST iterations")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (matplotlib, the MNIST files): one line each
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
zg.manual_seed(args.seed)
result = {}

# %% [markdown]
# ## The initialisations, the deep stack and the training loop
#
# `INITS` maps each name to its `nn.init` call; `forward_activations` pushes inputs through 5
# layers of 100 units (`nn.Linear(100, 100, bias=False)`) and keeps each layer's activations;
# `make_mlp` builds the 5-layer ReLU MLP for MNIST with a given initialisation (biases 0), and
# `train_losses` records the loss of every iteration.

# %%
# Each scheme fills a weight tensor in place. Naive formulas, for a layer with n_in inputs and
# n_out outputs: std 1; std 0.01; Xavier std = sqrt(2 / (n_in + n_out)); He std = sqrt(2 / n_in).
INITS = {
    "std 1": lambda w: nn.init.normal_(w, mean=0.0, std=1.0),
    "std 0.01": lambda w: nn.init.small_random_(w),
    "Xavier": lambda w: nn.init.xavier_normal_(w),
    "He": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
}

ACTIVATIONS = {"sigmoid": F.sigmoid, "relu": F.relu}


def forward_activations(x, init, activation, layers: int = 5, units: int = 100) -> list:
    """Each layer's activations (NumPy arrays) for input ``x`` through a freshly initialised net."""
    activations = []
    a = x
    with zg.no_grad():  # only looking: no graph needed
        for _ in range(layers):
            linear = nn.Linear(units, units, bias=False)  # no bias, as in the book's experiment
            init(linear.weight)
            a = activation(linear(a))
            activations.append(a.numpy())
    return activations


def draw_histograms(plt, activations: dict, name: str, path: Path) -> None:
    """One row per initialisation, one column per layer."""
    fig, axes = plt.subplots(len(activations), 5, figsize=(12, 9), dpi=80, sharey="row")
    for row, (init_name, layers) in zip(axes, activations.items()):
        if name == "sigmoid":
            value_range = (0.0, 1.0)
        else:
            # ReLU: leave out the zeros (about half of every layer) and give the whole row one
            # x-range, so growing (std 1) and shrinking (std 0.01) activations are visible
            top = max(float(np.percentile(a[a > 0], 99)) if (a > 0).any() else 0 for a in layers)
            value_range = (0.0, top if top > 0 else 1.0)
        for i, (ax, a) in enumerate(zip(row, layers)):
            values = a.ravel() if name == "sigmoid" else a[a > 0]
            # one filled outline instead of 30 bars: the same picture, drawn much faster
            ax.hist(
                values,
                bins=30,
                range=value_range,
                histtype="stepfilled",
                color="tab:blue",
            )
            ax.set_title(f"{init_name}: layer {i + 1}", fontsize=9)
            ax.tick_params(labelsize=7)
        row[0].set_ylabel("count")
    for ax in axes[-1]:
        ax.set_xlabel("activation" if name == "sigmoid" else "activation (> 0)")
    note = "" if name == "sigmoid" else " (the zeros, about half, left out)"
    fig.suptitle(f"{name} activations of a 5-layer net, 100 units, 1,000 random inputs{note}")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.07, top=0.92, hspace=0.45, wspace=0.15)
    fig.savefig(path)
    plt.close(fig)


def make_mlp(init) -> nn.Sequential:
    """784-100-100-100-100-10 with ReLU; every weight from ``init``, every bias 0."""
    sizes = [784, 100, 100, 100, 100, 10]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(n_in, n_out)
        init(linear.weight)
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
# ## Part 1: the formula's std and the drawn std
#
# For one 100 -> 100 layer: the std each formula asks for beside the std of the weights the
# library drew. They should match to about two digits (10,000 draws).

# %%
print("Part 1: one 100 -> 100 layer's weights, the formula's std and the drawn std")
formulas = {
    "std 1": 1.0,
    "std 0.01": 0.01,
    "Xavier": math.sqrt(2 / (100 + 100)),  # Glorot: keeps the variance for tanh/sigmoid
    "He": math.sqrt(2 / 100),  # He: ReLU zeroes half the signal, so twice 1 / n_in
}
for name, init in INITS.items():
    weight = init(nn.Linear(100, 100).weight)
    drawn = float(weight.detach().numpy().std())
    print(f"  {name:9s} formula {formulas[name]:.4f}   drawn {drawn:.4f}")
    result[f"weight_std_{name}"] = (formulas[name], drawn)

# %% [markdown]
# ## Part 1: the book's experiment
#
# 1,000 random inputs of 100 features through 5 layers, with sigmoid and with ReLU. Look at the std
# per layer: with std 1 the sigmoid saturates (activations pile up at 0 and 1, where its slope
# vanishes), with std 0.01 the signal shrinks towards nothing layer after layer; Xavier keeps the
# sigmoid's spread, He keeps ReLU's. The histograms show each layer's activations.

# %%
x = zg.randn(1000, 100)
for act_name, activation in ACTIVATIONS.items():
    print(f"\n  {act_name}: activation std per layer")
    print(f"  {'init':9s}" + "".join(f"{f'layer {i}':>10s}" for i in range(1, 6)))
    activations = {}
    for name, init in INITS.items():
        activations[name] = forward_activations(x, init, activation)
        stds = [float(a.std()) for a in activations[name]]
        print(f"  {name:9s}" + "".join(f"{s:10.4g}" for s in stds))
        result[f"act_std_{act_name}_{name}"] = stds
    if plt is not None:  # the picture (matplotlib, the plot extra)
        result[f"{act_name}_png"] = str(out / f"10_activations_{act_name}.png")
        draw_histograms(plt, activations, act_name, Path(result[f"{act_name}_png"]))
        show(result[f"{act_name}_png"])

# %% [markdown]
# ## Part 2: training on MNIST from each initialisation
#
# The 5-layer ReLU MLP 784-100-100-100-100-10 with plain SGD (lr 0.01, batch 128), from std 0.01,
# Xavier and He, on the same batches.

# %%
iterations = args.iterations or (300 if args.quick else 2000)
train, test, what = skipped.mnist_splits(sample=True if args.quick else None, flatten=True)
print(f"\nPart 2: {iterations} iterations of SGD (lr 0.01, batch 128) on {what}")
print(f"  ({len(train)} images), 5-layer ReLU MLP 784-100-100-100-100-10")
test_loader = DataLoader(test, batch_size=1000)
losses, accuracies = {}, {}
for name in ("std 0.01", "Xavier", "He"):
    zg.manual_seed(args.seed)  # the same batches for every initialisation
    model = make_mlp(INITS[name])
    loader = DataLoader(train, batch_size=128, shuffle=True)
    opt = optim.SGD(model.parameters(), lr=0.01)
    losses[name] = train_losses(model, opt, loader, iterations)
    accuracies[name] = evaluate(model, test_loader)["accuracy"]

# %% [markdown]
# ## Part 2: the results
#
# The final loss is the mean training loss of the last 10% of iterations. With std 0.01 the
# signal (and the gradient) is too small for SGD to get going; He starts learning at once.

# %%
tail = max(iterations // 10, 1)  # the last 10%, averaged: one batch alone is too noisy
print(f"\n  final loss = mean training loss of the last {tail} iterations")
print(f"  {'init':9s} {'final loss':>11s} {'test acc':>9s}")
for name in losses:
    final = float(np.mean(losses[name][-tail:]))
    print(f"  {name:9s} {final:11.4f} {accuracies[name]:9.4f}")
    result[f"loss_{name}"] = final
    result[f"accuracy_{name}"] = float(accuracies[name])

# %% [markdown]
# ## The loss curves
#
# Each initialisation's training loss, as a moving average.

# %%
if plt is not None:  # the pictures (matplotlib, the plot extra)
    window = min(max(iterations // 50, 10), iterations)  # no wider than the run
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=90)
    for name, values in losses.items():
        ax.plot(np.arange(window, len(values) + 1), smooth(values, window), label=name)
    ax.set(
        title=f"MNIST loss by weight init: ReLU MLP, SGD ({what})",
        xlabel="iteration",
        ylabel=f"cross-entropy (mean of {window} iterations)",
        ylim=(0, 2.5),
    )
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    result["loss_png"] = str(out / "10_mnist_loss.png")
    fig.savefig(result["loss_png"])
    plt.close(fig)
    show(result["loss_png"])

    print(f"\nPictures: {result['sigmoid_png']}, {result['relu_png']}, {result['loss_png']}")

# %%
skipped.report()
