# %% [markdown]
# # Lesson 3: the three-layer forward pass
#
# A network's forward pass is matrix products and activations, layer after layer. The book's
# example has 2 inputs, two hidden layers of 3 and 2 sigmoid units and 2 outputs with the identity
# activation:
#
#     a1 = x W1 + b1,  z1 = sigmoid(a1)
#     a2 = z1 W2 + b2, z2 = sigmoid(a2)
#     a3 = z2 W3 + b3, y  = a3
#
# For x = (1.0, 0.5) the book's answer is y = (0.31682708, 0.69627909). The lesson computes it
# twice, with raw tensors and with `nn.Linear` layers, in float64 so both agree with the book to
# 8 decimals. It is instant, so `--quick` changes nothing.
#
# Run it as a script with `python examples/03_forward_pass.py` or `zerograd lesson 03_forward_pass`
# (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook:
# `zerograd lesson 03_forward_pass --notebook`.

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

parser = argparse.ArgumentParser(description="Lesson 3: the three-layer forward pass.")
parser.add_argument("--quick", action="store_true", help="the same run (it is instant)")
parser.add_argument("--out", default="runs/lessons/03_forward_pass", help="folder for the PNG")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
f64 = zg.float64  # float64 as in the book's NumPy code, so both ways agree to 1e-8


# %% [markdown]
# ## The book's weights
#
# The book stores each W as (in, out), one column per unit of the next layer, so `x @ W1 + b1` is
# a (2,) vector times a (2, 3) matrix.

# %%
# The book's weights, W as (in, out): a = x W + b, one column per unit of the next layer
W1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]  # 2 inputs -> 3 units
b1 = [0.1, 0.2, 0.3]
W2 = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]  # 3 -> 2
b2 = [0.1, 0.2]
W3 = [[0.1, 0.3], [0.2, 0.4]]  # 2 -> 2 outputs
b3 = [0.1, 0.2]
EXPECTED = [0.31682708, 0.69627909]  # the book's answer


def fmt(t) -> str:
    """A 1-D tensor's values with 8 decimals."""
    return "(" + ", ".join(f"{v:.8f}" for v in t.tolist()) + ")"


# %% [markdown]
# ## 1. Raw tensors and ops, exactly as the book writes them
#
# a = x W + b with W of shape (in, out), then the sigmoid, three times (the last layer keeps a3 as
# it is: `F.identity`). Look at the values layer by layer: the hidden units all sit between 0 and 1,
# the sigmoid's range.

# %%
x = zg.tensor([1.0, 0.5], dtype=f64)
a1 = x @ zg.tensor(W1, dtype=f64) + zg.tensor(b1, dtype=f64)  # (2,) @ (2, 3) -> (3,)
z1 = F.sigmoid(a1)
a2 = z1 @ zg.tensor(W2, dtype=f64) + zg.tensor(b2, dtype=f64)  # (3,) @ (3, 2) -> (2,)
z2 = F.sigmoid(a2)
a3 = z2 @ zg.tensor(W3, dtype=f64) + zg.tensor(b3, dtype=f64)  # (2,) @ (2, 2) -> (2,)
y_raw = F.identity(a3)  # the output layer of a regression net passes a3 through unchanged
print("1. Raw tensors, a = x W + b with W as (in, out) like the book:")
for name, t in (("x", x), ("a1", a1), ("z1", z1), ("a2", a2), ("z2", z2), ("y", y_raw)):
    print(f"   {name:2s} = {fmt(t)}")


# %% [markdown]
# ## 2. The same network from nn.Linear layers
#
# `nn.Linear` follows PyTorch: it computes y = x W^T + b and stores `weight` as
# (out_features, in_features), one *row* per unit holding that unit's incoming weights. So the
# book's W goes in transposed: `"0.weight": W1.T` has shape (3, 2). The keys of `load_state_dict`
# are the layer's index in the `Sequential` plus the parameter's name (the Sigmoid and Identity
# layers have no parameters, hence 0, 2, 4). Look at the last lines: both ways give the book's
# numbers.

# %%
# nn.Linear computes y = x W^T + b and stores weight as (out_features, in_features), PyTorch's
# layout: each row holds one unit's incoming weights. So the book's W (in, out) goes in
# transposed, W.T; the biases are the same.
model = nn.Sequential(
    nn.Linear(2, 3, dtype=f64),
    nn.Sigmoid(),
    nn.Linear(3, 2, dtype=f64),
    nn.Sigmoid(),
    nn.Linear(2, 2, dtype=f64),
    nn.Identity(),
)
state = {
    "0.weight": np.array(W1).T,  # (3, 2)
    "0.bias": np.array(b1),
    "2.weight": np.array(W2).T,  # (2, 3)
    "2.bias": np.array(b2),
    "4.weight": np.array(W3).T,  # (2, 2)
    "4.bias": np.array(b3),
}
model.load_state_dict(state)
with zg.no_grad():  # only a forward pass: no graph to record
    y_layers = model(x)
print("\n2. nn.Sequential(Linear, Sigmoid, Linear, Sigmoid, Linear, Identity):")
print(f"   {model[0]!r}: weight {model[0].weight.shape} = W1.T, bias {model[0].bias.shape}")
print(f"   state_dict keys: {', '.join(model.state_dict())}")
print(f"   y  = {fmt(y_layers)}")

diff = float((y_raw - y_layers).abs().max().item())
print(f"\nBoth give y = {fmt(y_raw)}; max |difference| = {diff:.1e}")
print(f"The book's answer:  {fmt(zg.tensor(EXPECTED, dtype=f64))}")

result = {"y_raw": y_raw.tolist(), "y_layers": y_layers.tolist(), "max_diff": diff}

# %% [markdown]
# ## The picture
#
# The network drawn as circles (each unit with its value for x = (1.0, 0.5)) and lines (the
# weights).


# %%
def draw_network(plt, layers, path):
    """Circles for the units (each labelled with its value), lines for the weights."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    names = ["input x", "z1 = sigmoid(a1)", "z2 = sigmoid(a2)", "output y = a3"]
    gap = 2.0  # horizontal distance between layers
    pos = []
    for col, values in enumerate(layers):
        n = len(values)
        pos.append([(gap * col, (n - 1) / 2 - i) for i in range(n)])  # units centred vertically
    for left, right in zip(pos, pos[1:]):
        for x0, y0 in left:
            for x1, y1 in right:
                ax.plot([x0, x1], [y0, y1], color="#999999", lw=0.8, zorder=1)
    for col, (values, units) in enumerate(zip(layers, pos)):
        for v, (x, y) in zip(values, units):
            ax.add_patch(plt.Circle((x, y), 0.34, facecolor="#f8d9c4", edgecolor="k", zorder=2))
            ax.text(x, y, f"{v:.4f}", ha="center", va="center", fontsize=8, zorder=3)
        ax.text(gap * col, -1.95, names[col], ha="center", fontsize=9)
    for col in range(1, len(layers)):
        ax.text(
            gap * (col - 0.5),
            -1.55,
            f"W{col}, b{col}",
            ha="center",
            fontsize=8,
            color="#555",
        )
    ax.set(xlim=(-0.6, gap * (len(layers) - 1) + 0.6), ylim=(-2.2, 1.5))
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("forward pass: x (1.0, 0.5) -> y, the book's weights")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if plt is not None:  # the picture (matplotlib, the plot extra)
    png = out / "network.png"
    draw_network(plt, [t.tolist() for t in (x, z1, z2, y_raw)], png)
    show(png)
    print(f"\nPicture: {png}")
    result["pngs"] = [str(png)]

# %%
skipped.report()
