# %% [markdown]
# # Lesson 8: a shallow network on the planar flower
#
# Andrew Ng's planar "flower" (`zerograd.data.datasets.planar_flower`): 400 points on a rose curve
# r = 4 sin(4t) with a little noise, the two classes on alternate petals. No straight line
# separates them. The lesson trains three kinds of model on it with the same recipe: full-batch
# gradient descent (`optim.SGD` on all 400 points at once), learning rate 1.2, 10,000 iterations
# (2,000 with `--quick`), binary cross-entropy
#
#     a = sigmoid(z),   cost = -mean(y log a + (1 - y) log(1 - a))
#
# and shows why a hidden layer's weights must start random.
#
# Run it as a script with `python examples/08_planar_flower.py` or `zerograd lesson
# 08_planar_flower` (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook:
# `zerograd lesson 08_planar_flower --notebook`.

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
from zerograd.data.datasets import planar_flower

parser = argparse.ArgumentParser(description="Lesson 8: a shallow network on the planar flower.")
parser.add_argument("--quick", action="store_true", help="2,000 iterations per model")
parser.add_argument("--out", default="runs/lessons/08_planar_flower", help="folder for PNGs")
parser.add_argument("--seed", type=int, default=0, help="seed of the data and the weights")
parser.add_argument("--lr", type=float, default=1.2)
args = parse_args(parser)
iterations = 2000 if args.quick else 10000
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
start = time.perf_counter()

skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
plt = skipped.pyplot()  # None without matplotlib: the numbers still print


# %% [markdown]
# ## The model, its training and its boundary
#
# `shallow_net(n_h)` is `nn.Sequential(nn.Linear(2, n_h), nn.Tanh(), nn.Linear(n_h, 1))`, that is
# z = W2 tanh(W1 x + b1) + b2; n_h = 0 is logistic regression, z = w . x + b. Weights start at
# N(0, 0.01^2) (`nn.init.small_random_`), biases at 0, or at zeros / one constant for section 3.
# `train` is full-batch gradient descent on the cost above, computed from the logit z with
# `F.binary_cross_entropy_with_logits` (the same value, with no log(0) when a saturates). A point
# is put in class 1 where a > 0.5. `fresh` starts every model from `zg.manual_seed(seed)`, so one
# row of a table does not depend on the rows before it.

# %%
HIDDEN_SIZES = [1, 2, 3, 4, 5, 20, 50]

INIT_NAMES = {
    "zeros": "zeros",
    "constant": "all equal to 0.01",
    "small": "random N(0, 0.01^2)",
}


def shallow_net(n_h: int, init: str = "small") -> nn.Module:
    """2 -> n_h (tanh) -> 1; the output is the logit z, and sigmoid(z) the probability of class 1.

    n_h = 0 means no hidden layer: logistic regression, z = w . x + b.
    """
    if n_h == 0:
        model = nn.Sequential(nn.Linear(2, 1))
    else:
        model = nn.Sequential(nn.Linear(2, n_h), nn.Tanh(), nn.Linear(n_h, 1))
    for layer in model:
        if isinstance(layer, nn.Linear):
            if init == "zeros":
                nn.init.zeros_(layer.weight)
            elif init == "constant":  # every weight the same small number
                nn.init.constant_(layer.weight, 0.01)
            else:  # the course's small random init: W ~ N(0, 0.01^2)
                nn.init.small_random_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)  # biases may start at 0: the weights break the symmetry
    return model


def train(model: nn.Module, X: zg.Tensor, Y: zg.Tensor, iterations: int, lr: float) -> float:
    """Full-batch gradient descent on the binary cross-entropy; returns the final cost."""
    opt = optim.SGD(model.parameters(), lr=lr)
    for _ in range(iterations):
        z = model(X)  # (400, 1) logits
        # cost = -mean(y log a + (1 - y) log(1 - a)) with a = sigmoid(z); the _with_logits form
        # computes the same from z directly, with no log(0) when a saturates at 0 or 1
        cost = F.binary_cross_entropy_with_logits(z, Y)
        opt.zero_grad()
        cost.backward()
        opt.step()
    return cost.item()


def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """Class 1 where sigmoid(z) > 0.5."""
    with zg.no_grad():
        a = F.sigmoid(model(zg.tensor(X)))
    return a.numpy()[:, 0] > 0.5


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    return float((predict(model, X) == y).mean())


def draw_boundary(ax, model: nn.Module, X: np.ndarray, y: np.ndarray, title: str) -> None:
    """Colour the plane by the model's class and put the points on top."""
    x0, x1 = np.meshgrid(np.linspace(-4.5, 4.5, 200), np.linspace(-4.5, 4.5, 200))
    grid = np.stack([x0.ravel(), x1.ravel()], axis=1).astype(np.float32)  # (40000, 2)
    ax.contourf(
        x0,
        x1,
        predict(model, grid).reshape(x0.shape),
        levels=1,
        cmap="coolwarm",
        alpha=0.4,
    )
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=6, edgecolors="none")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("x1", fontsize=8)
    ax.set_ylabel("x2", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_aspect("equal")


def fresh(n_h: int, init: str = "small") -> nn.Module:
    # every model starts from the same seed, so a row does not depend on the rows before it
    zg.manual_seed(args.seed)
    return shallow_net(n_h, init)


# %% [markdown]
# ## The data
#
# 400 points, 200 per class.

# %%
zg.manual_seed(args.seed)
X, y = planar_flower(400)  # X (400, 2) float32, y (400,) 0 or 1, grouped by class
Xt = zg.tensor(X)
Yt = zg.tensor(y.astype(np.float32)).reshape(-1, 1)  # (400, 1) targets for BCE
print(f"planar flower: {len(X)} points, {int((y == 0).sum())} of class 0, {int(y.sum())} of 1")
print(f"full-batch gradient descent, lr {args.lr}, {iterations} iterations per model\n")


# %% [markdown]
# ## 1. Logistic regression
#
# One `nn.Linear(2, 1)`: its boundary is a line, and the best a line can do here is about a coin
# flip.

# %%
logreg = fresh(0)
cost = train(logreg, Xt, Yt, iterations, args.lr)
logreg_acc = accuracy(logreg, X, y)
print(f"logistic regression: training accuracy {logreg_acc:.2%} (cost {cost:.4f})")


# %% [markdown]
# ## 2. One hidden layer of 4 tanh units
#
# Each tanh unit is a soft step across one line of the plane, and the output weighs these steps
# together: the boundary bends around the petals.

# %%
net4 = fresh(4)
cost4 = train(net4, Xt, Yt, iterations, args.lr)
acc4 = accuracy(net4, X, y)
print(f"2-4-1 tanh network:  training accuracy {acc4:.2%} (cost {cost4:.4f})")


# %% [markdown]
# ## 3. Why the start must be random
#
# If every hidden unit starts with the same weights, every unit computes the same output, gets the
# same gradient and takes the same step, so they stay copies of one another for ever: look at the
# rows of W1 after training. With all-zero weights nothing moves at all: W2 = 0 sends no gradient
# back to W1, the hidden outputs tanh(0) = 0 give W2 none, and the output stays sigmoid(0) = 0.5
# for every point (50%). With every weight 0.01 the net learns, but as one unit, and scores about
# what n_h = 1 does. Small random values break the symmetry.

# %%
print("\nwhy the initial weights must be random (n_h = 4):")
header = f"  {'initial W':20s}  {'accuracy':>8s}  {'rows of W1 identical':20s}"
print(header + "  rows of W1 after training")
inits = {}
for init in ("zeros", "constant", "small"):
    model = net4 if init == "small" else fresh(4, init)
    if init != "small":
        train(model, Xt, Yt, iterations, args.lr)
    W1 = model[0].weight.detach().numpy()  # (4, 2): one row per hidden unit
    spread = float(np.abs(W1 - W1[0]).max())  # largest difference from the first row
    inits[init] = {"accuracy": accuracy(model, X, y), "row_spread": spread, "W1": W1}
    same = f"{spread < 1e-6} (max diff {spread:.2g})"
    print(
        f"  {INIT_NAMES[init]:20s}  {inits[init]['accuracy']:8.2%}  {same:20s}  "
        + " ".join(f"({a:+.2f}, {b:+.2f})" for a, b in W1)
    )


# %% [markdown]
# ## 4. How many hidden units does the flower need?
#
# One or two units give too few lines; three or more find the petals; 20 or 50 add little on 400
# points.

# %%
print(f"\n{'n_h':>4s}  {'accuracy':>8s}  {'cost':>6s}")
table, costs, models = {4: acc4}, {4: cost4}, {4: net4}  # n_h = 4 is trained already
for n_h in HIDDEN_SIZES:
    if n_h not in models:
        models[n_h] = fresh(n_h)
        costs[n_h] = train(models[n_h], Xt, Yt, iterations, args.lr)
        table[n_h] = accuracy(models[n_h], X, y)
    print(f"{n_h:4d}  {table[n_h]:8.2%}  {costs[n_h]:6.4f}")

result = {
    "iterations": iterations,
    "logreg_accuracy": logreg_acc,
    "accuracy_n_h_4": acc4,
    "table": table,
    "init_accuracy": {k: v["accuracy"] for k, v in inits.items()},
    "init_row_spread": {k: v["row_spread"] for k, v in inits.items()},
    "zero_init_hidden_weights": inits["zeros"]["W1"],
}

# %% [markdown]
# ## The pictures
#
# The two boundaries side by side, then one panel per hidden size.

# %%
if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), dpi=90)
    draw_boundary(axes[0], logreg, X, y, f"logistic regression: {logreg_acc:.1%}")
    draw_boundary(axes[1], net4, X, y, f"2-4-1 tanh network: {acc4:.1%}")
    fig.tight_layout()
    boundaries_png = out / "boundaries.png"
    fig.savefig(boundaries_png)
    plt.close(fig)
    show(boundaries_png)

    fig, axes = plt.subplots(2, 4, figsize=(10, 5.4), dpi=80)
    for ax, n_h in zip(axes.ravel(), HIDDEN_SIZES):
        draw_boundary(ax, models[n_h], X, y, f"n_h = {n_h}: {table[n_h]:.1%}")
    axes.ravel()[-1].axis("off")
    fig.suptitle(f"hidden layer size vs decision boundary ({iterations} iterations, lr {args.lr})")
    fig.tight_layout()
    hidden_png = out / "hidden_sizes.png"
    fig.savefig(hidden_png)
    plt.close(fig)
    show(hidden_png)
    print(f"\nwrote {boundaries_png} and {hidden_png}")
    result.update(boundaries_png=str(boundaries_png), hidden_sizes_png=str(hidden_png))
    result["pngs"] = [str(boundaries_png), str(hidden_png)]
print(f"time: {time.perf_counter() - start:.1f} s")

# %%
skipped.report()
