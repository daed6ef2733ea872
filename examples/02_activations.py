# %% [markdown]
# # Lesson 2: activation functions
#
# The perceptron's step is one choice of *activation function* h, the non-linearity applied to
# each unit's weighted sum a. The classic ones, with y = h(a):
#
# | name | h(a) | h'(a) |
# |---|---|---|
# | step | 1 if a > 0 else 0 | 0 (undefined at 0) |
# | sigmoid | 1 / (1 + exp(-a)) | y (1 - y) |
# | tanh | tanh(a) | 1 - y^2 |
# | ReLU | max(a, 0) | 1 if a > 0 else 0 |
# | leaky ReLU | a if a > 0 else 0.1 a | 1 if a > 0 else 0.1 |
# | identity | a | 1 |
#
# (The lesson uses slope 0.1 for the leaky ReLU so it shows in the plot; PyTorch's default is
# 0.01.) The lesson prints each one at a few points, computes the derivatives with zerograd's
# autograd and checks them against the last column, then shows why a network needs a non-linear
# activation at all.
#
# Run it as a script with `python examples/02_activations.py` or `zerograd lesson 02_activations`
# (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook:
# `zerograd lesson 02_activations --notebook`.

# %%
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
import zerograd.functional as F
from zerograd import nn

parser = argparse.ArgumentParser(description="Lesson 2: activation functions.")
parser.add_argument("--quick", action="store_true", help="fewer points in the plot")
parser.add_argument("--out", default="runs/lessons/02_activations", help="folder for the PNG")
parser.add_argument("--seed", type=int, default=0, help="seed for the Linear layers' weights")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
zg.manual_seed(args.seed)
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
result = {}


# %% [markdown]
# ## The activations and their derivatives
#
# Each activation next to its derivative written as the formula on paper (NumPy, from x and
# y = h(x)). `value_and_derivative` gets h'(x) from autograd instead:
# `x = zg.tensor(points, requires_grad=True)`, `h(x).sum().backward()`, then `x.grad`. Each y_i
# depends on x_i alone, so the derivative of the sum with respect to x_i is h'(x_i): one backward
# gives them all.

# %%
SLOPE = 0.1  # leaky ReLU's slope for a < 0 (PyTorch's default is 0.01, too flat to see in a plot)

# each activation, and its derivative written as the formula on paper (NumPy, from x and y = h(x))
ACTIVATIONS = {
    "step": (F.step, lambda x, y: np.zeros_like(x)),
    "sigmoid": (F.sigmoid, lambda x, y: y * (1 - y)),
    "tanh": (F.tanh, lambda x, y: 1 - y**2),
    "ReLU": (F.relu, lambda x, y: (x > 0).astype(x.dtype)),
    f"leaky ReLU ({SLOPE})": (
        lambda x: F.leaky_relu(x, SLOPE),
        lambda x, y: np.where(x > 0, 1.0, SLOPE).astype(x.dtype),
    ),
    "identity": (F.identity, lambda x, y: np.ones_like(x)),
}


def value_and_derivative(h, values):
    """h(x) and h'(x) at each point of ``values``, the derivative from autograd.

    Each y_i depends on x_i alone, so d(sum of y)/dx_i = h'(x_i): one backward gives them all.
    """
    x = zg.tensor(values, requires_grad=True)
    y = h(x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


# %% [markdown]
# ## 1. The sigmoid, by the formula and by the library
#
# h(a) = 1 / (1 + exp(-a)) computed twice: with NumPy on paper's formula, and with `F.sigmoid`.

# %%
x = zg.tensor([1.0, 2.0])
naive = 1 / (1 + np.exp(-x.numpy()))  # the formula on paper
lib = F.sigmoid(x).numpy()
print("1. The sigmoid h(a) = 1 / (1 + exp(-a)):")
for a, n, v in zip(x.tolist(), naive, lib):
    print(f"   sigmoid({a:.1f}) = {v:.4f}   (formula: {n:.4f})")
result["sigmoid_1"], result["sigmoid_2"] = float(lib[0]), float(lib[1])


# %% [markdown]
# ## 2. Every activation and its derivative at a few points
#
# Look at the last column: autograd and the formula agree exactly. Two facts to take away: the
# step's derivative is 0 everywhere, so gradient descent cannot train a step network (why the
# course moves on to the sigmoid); and the sigmoid's derivative is at most 0.25, so every sigmoid
# layer shrinks the gradient flowing back through it.

# %%
points = np.array([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=np.float32)
header = "".join(f"{p:>8.1f}" for p in points)
values, slopes, errors = {}, {}, {}
for name, (h, formula) in ACTIVATIONS.items():
    y, dy = value_and_derivative(h, points)
    values[name], slopes[name] = y, dy
    errors[name] = float(np.abs(dy - formula(points, y)).max())
print("\n2. Each activation h(x), and h'(x) by autograd (x.requires_grad,")
print("   h(x).sum().backward(), x.grad) next to the formula on paper")
print("   (sigmoid' = y (1 - y), tanh' = 1 - y^2, ...):")
print(f"   {'x':18s}{header}")
for name, y in values.items():
    print(f"   {name:18s}" + "".join(f"{v:8.4f}" for v in y))
print(f"   {'derivative':18s}{header}   |autograd - formula|")
for name, dy in slopes.items():
    row = "".join(f"{v:8.4f}" for v in dy)
    print(f"   {name:18s}{row}   {errors[name]:.1e}")
print("   sigmoid' is at most 0.25 (at 0): a sigmoid scales the gradient by 0.25 or less;")
print("   step' is 0 everywhere (undefined at 0), so gradient descent cannot train a step net;")
print("   ReLU' at 0 is taken as 0, as in PyTorch.")
result["derivatives"] = {name: dy.tolist() for name, dy in slopes.items()}
result["max_formula_error"] = max(errors.values())


# %% [markdown]
# ## 3. Without an activation, depth buys nothing
#
# Three `nn.Linear` layers in a row compute
#
#     y = ((x W1^T + b1) W2^T + b2) W3^T + b3 = x (W3 W2 W1)^T + (W3 W2 b1 + W3 b2 + b3)
#
# which is one Linear layer with weight W3 W2 W1 (`nn.Linear` stores W as (out, in), so the
# product reads right to left) and that combined bias. The cell builds that single layer, loads it
# with `load_state_dict`, and compares: the two agree to float32 rounding. Put a ReLU between the
# layers and they differ by far more: no single layer computes that.

# %%
# y = ((x W1^T + b1) W2^T + b2) W3^T + b3 = x (W3 W2 W1)^T + (W3 W2 b1 + W3 b2 + b3):
# three Linear layers (nn.Linear keeps W as (out, in)) are one Linear with W = W3 W2 W1.
l1, l2, l3 = nn.Linear(4, 16), nn.Linear(16, 16), nn.Linear(16, 3)
one = nn.Linear(4, 3)
x = zg.randn(8, 4)
with zg.no_grad():  # no training here: don't record the graph
    W = l3.weight @ l2.weight @ l1.weight
    b = l3.weight @ (l2.weight @ l1.bias + l2.bias) + l3.bias
    one.load_state_dict({"weight": W, "bias": b})
    deep = l3(l2(l1(x)))
    shallow = one(x)
    with_relu = l3(F.relu(l2(F.relu(l1(x)))))
diff_linear = float((deep - shallow).abs().max().item())
diff_relu = float((with_relu - shallow).abs().max().item())
n_deep = sum(p.numel() for m in (l1, l2, l3) for p in m.parameters())
n_one = sum(p.numel() for p in one.parameters())
print("\n3. Three Linear layers 4 -> 16 -> 16 -> 3 with no activation between them,")
print("   against one Linear 4 -> 3 with weight W3 W2 W1 and bias W3 W2 b1 + W3 b2 + b3:")
print(f"   max |deep - one layer|          = {diff_linear:.1e}  (float32 rounding: the same)")
print(f"   with ReLU between, max |diff|   = {diff_relu:.3f}  (no single layer does that)")
print(f"   the deep one has {n_deep} parameters, the single layer {n_one}, same answers:")
print("   without a non-linear h between the layers, depth buys nothing")
result["linear_max_diff"], result["relu_max_diff"] = diff_linear, diff_relu


# %% [markdown]
# ## The picture
#
# Every activation (left) and its derivative by autograd (right) on [-5, 5]. ReLU, leaky ReLU and
# the identity coincide for x > 0: thick, thin and dotted lines keep all three visible.

# %%
if plt is not None:
    grid = np.linspace(-5, 5, 201 if args.quick else 1001, dtype=np.float32)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    # ReLU, leaky ReLU and the identity coincide for x > 0: thick, thin and dotted lines keep
    # all three visible
    styles = [
        dict(lw=2),
        dict(lw=2),
        dict(lw=2),
        dict(lw=4, alpha=0.6),
        dict(lw=1.8),
        dict(ls=":"),
    ]
    for (name, (h, _)), style in zip(ACTIVATIONS.items(), styles):
        y, dy = value_and_derivative(h, grid)
        ax1.plot(grid, y, label=name, **style)
        ax2.plot(grid, dy, label=name, **style)
    ax1.set(title="activations h(x)", xlabel="x", ylabel="h(x)", ylim=(-2, 3))
    ax2.set(
        title="derivatives h'(x), by autograd",
        xlabel="x",
        ylabel="h'(x)",
        ylim=(-0.1, 1.1),
    )
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.axhline(0, color="k", linewidth=0.5)
    ax1.legend(fontsize=8)
    fig.tight_layout()
    png = out / "activations.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)
    show(png)
    print(f"\nPicture: {png}")
    result["pngs"] = [str(png)]

# %%
skipped.report()
