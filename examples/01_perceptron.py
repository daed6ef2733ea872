# %% [markdown]
# # Lesson 1: the perceptron and logic gates
#
# A perceptron takes inputs x1, x2, weighs them and fires (outputs 1) when the sum passes a
# threshold:
#
#     y = step(w1 x1 + w2 x2 + b),   step(a) = 1 if a > 0 else 0
#
# The weights decide which function it computes. With hand-set weights (those of Saito's book) it
# is AND, NAND or OR; the *perceptron learning rule* finds such weights by itself. XOR is out of
# reach of a single perceptron, and a network of two layers fixes that.
#
# Run it as a script with `python examples/01_perceptron.py` or `zerograd lesson 01_perceptron`
# (`--quick` for a coarser search, `--out DIR` for the pictures, `--seed N` for other starting
# weights), or as a notebook: `zerograd lesson 01_perceptron --notebook`.

# %%
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
import zerograd.functional as F
from zerograd.data.datasets import logic_gate

parser = argparse.ArgumentParser(description="Lesson 1: the perceptron and logic gates.")
parser.add_argument("--quick", action="store_true", help="coarser XOR search, fewer epochs")
parser.add_argument("--out", default="runs/lessons/01_perceptron", help="folder for the PNGs")
parser.add_argument("--seed", type=int, default=0, help="seed for the starting weights")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
zg.manual_seed(args.seed)
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
result = {}

# %% [markdown]
# ## 1. Hand-set weights
#
# The book's weights (w1, w2, b): AND is w = (0.5, 0.5), b = -0.7, so only x1 = x2 = 1 pushes the
# sum (0.3) above 0; NAND is AND with every sign flipped; OR lowers the threshold to b = -0.2, so
# one input is enough. `perceptron` below is the formula in one line, on all four rows at once:
# `X` is the (4, 2) table of inputs 00, 01, 10, 11 from `logic_gate`. Look at the truth table it
# prints: each column is one gate.

# %%
# the book's hand-set weights (w1, w2, b); NAND is AND with every sign flipped
HAND_SET = {
    "AND": (0.5, 0.5, -0.7),
    "NAND": (-0.5, -0.5, 0.7),
    "OR": (0.5, 0.5, -0.2),
}


def perceptron(X, w, b):
    """y = step(X w + b): 1 where the weighted sum is above 0, else 0. X: (N, 2) -> y: (N,)."""
    return F.step(X @ w + b)


def hand_gate(name: str, X):
    """The gate ``name`` as one perceptron with the book's hand-set weights."""
    w1, w2, b = HAND_SET[name]
    return perceptron(X, zg.tensor([w1, w2]), b)


def as_bits(y) -> list:
    """A tensor of 0.0/1.0 as a list of ints, for printing and comparing."""
    return [int(v) for v in y.tolist()]


X = zg.tensor(logic_gate("AND")[0])  # the four inputs 00, 01, 10, 11, float32 (4, 2)
print("1. Hand-set weights, y = step(w1 x1 + w2 x2 + b):")
for gate, (w1, w2, b) in HAND_SET.items():
    print(f"   {gate:4s}  w = ({w1:+.1f}, {w2:+.1f})  b = {b:+.1f}")
tables = {gate: as_bits(hand_gate(gate, X)) for gate in HAND_SET}
for gate, table in tables.items():
    result[f"{gate.lower()}_hand"] = table
print("   x1 x2 | AND NAND  OR")
for i, (x1, x2) in enumerate(X.tolist()):
    print(
        f"    {x1:.0f}  {x2:.0f} |  {tables['AND'][i]}    {tables['NAND'][i]}    {tables['OR'][i]}"
    )

# %% [markdown]
# ## 2. The perceptron learning rule finds the weights itself
#
# Start from random weights and go through the examples one at a time:
#
#     w += lr (t - y) x,   b += lr (t - y)
#
# A right answer (t = y) changes nothing; a wrong one moves the line w1 x1 + w2 x2 + b = 0
# towards the missed point. An epoch is one pass over the four rows; training stops after the
# first epoch with no mistake. Look at the last column: on AND, NAND and OR every table comes out
# right after a few epochs, with weights other than the book's (any line that separates the
# points will do).


# %%
def train_perceptron(X, t, lr: float, max_epochs: int):
    """The perceptron learning rule, one row at a time: w += lr (t - y) x, b += lr (t - y).

    A right answer (t == y) changes nothing; a wrong one moves the line towards the missed point.
    Stops after the first epoch with no mistake (on XOR that never comes).
    Returns (w, b, epochs run, mistakes in the last epoch).
    """
    w = zg.randn(2) * 0.5  # a random start: --seed picks another one
    b = zg.randn(1) * 0.5
    epochs, mistakes = 0, None
    while epochs < max_epochs and mistakes != 0:
        epochs, mistakes = epochs + 1, 0
        for i in range(len(X)):
            y = perceptron(X[i], w, b)
            error = t[i] - y  # +1: should have fired, -1: should not have, 0: right
            w = w + lr * error * X[i]
            b = b + lr * error
            mistakes += int(error.item() != 0)
    return w, b, epochs, mistakes


lr = 0.1
print(f"\n2. The learning rule w += lr (t - y) x, b += lr (t - y), lr = {lr}, seed {args.seed}:")
learned = {}
for gate in ("AND", "NAND", "OR"):
    Xg, t = logic_gate(gate)
    Xg, t = zg.tensor(Xg), zg.tensor(t.astype(np.float32))
    w, b, epochs, mistakes = train_perceptron(Xg, t, lr, max_epochs=100)
    table = as_bits(perceptron(Xg, w, b))
    ok = table == as_bits(t)
    learned[gate] = (w.tolist(), b.item())
    print(
        f"   {gate:4s}  w = ({w[0].item():+.2f}, {w[1].item():+.2f})  b = {b.item():+.2f}  "
        f"after {epochs:2d} epochs  table {' '.join(map(str, table))}  "
        f"{'right' if ok else 'WRONG'}"
    )
    result[f"{gate.lower()}_learned"] = {
        "w": w.tolist(),
        "b": b.item(),
        "epochs": epochs,
        "converged": mistakes == 0,
        "table": table,
        "right": ok,
    }

# %% [markdown]
# ## 3. XOR: no single line works
#
# XOR's 1s, (0, 1) and (1, 0), sit on opposite corners, and no straight line puts them on one
# side and (0, 0), (1, 1) on the other. On paper: 00 -> 0 needs b <= 0; 01 -> 1 and 10 -> 1 need
# w2 + b > 0 and w1 + b > 0; adding those two gives w1 + w2 + b > -b >= 0, so 11 fires too.
#
# Two checks in code. The learning rule never settles: it still makes mistakes in its last epoch.
# And it is not a failure of training: the cell tries every line on a grid of (w1, w2, b) at once,
# as one matrix product `X @ W.T` of the four points by all the candidate lines, and counts how
# many points each gets right. Look at the best count: 3 of 4, never 4.


# %%
def count_right(X, t, w, b) -> int:
    """How many rows the perceptron (w, b) answers right."""
    return int((perceptron(X, w, b).numpy() == t.numpy()).sum())


Xx, tx = logic_gate("XOR")
Xx, tx = zg.tensor(Xx), zg.tensor(tx.astype(np.float32))
epochs = 20 if args.quick else 100
w, b, _, mistakes = train_perceptron(Xx, tx, lr, epochs)
print(f"\n3. XOR (targets {' '.join(map(str, as_bits(tx)))}) with one perceptron:")
print(
    f"   the learning rule never settles: {mistakes} mistakes in epoch {epochs}, "
    f"{count_right(Xx, tx, w, b)} of 4 right at the end"
)
# Not a failure of training: try every line on a grid of (w1, w2, b), all at once.
steps = 11 if args.quick else 41
v = np.linspace(-1.0, 1.0, steps, dtype=np.float32)
w1, w2, bs = (a.ravel() for a in np.meshgrid(v, v, v))
W = zg.tensor(np.stack([w1, w2], axis=1))  # (K, 2): one candidate line per row
S = Xx @ W.T + zg.tensor(bs)  # (4, K): each line's weighted sums on the four points
correct = (F.step(S).numpy() == tx.numpy()[:, None]).sum(axis=0)
grid_best = int(correct.max())
# of the lines that tie, draw the one furthest from every point (the widest margin)
margin = np.abs(S.numpy()).min(axis=0) / (np.hypot(w1, w2) + 1e-12)
k = int(np.argmax(np.where(correct == grid_best, margin, -1.0)))
best_w, best_b = zg.tensor([w1[k], w2[k]]), float(bs[k])
print(
    f"   all {len(bs)} lines with w1, w2, b on a {steps}-step grid over [-1, 1]: "
    f"the best gets {grid_best} of 4 right"
)
print(
    f"   ({int((correct == grid_best).sum())} lines tie; e.g. w = ({w1[k]:+.2f}, "
    f"{w2[k]:+.2f}), b = {best_b:+.2f} gives "
    f"{' '.join(map(str, as_bits(perceptron(Xx, best_w, best_b))))}); none gets 4"
)
print("   -> XOR is not linearly separable: a single perceptron gets at most 3 of 4")
result.update(xor_rule_mistakes=mistakes, xor_grid_best=grid_best, xor_lines=len(bs))

# %% [markdown]
# ## 4. XOR as a two-layer network: NAND and OR feed AND
#
# Stacking perceptrons fixes it:
#
#     XOR(x1, x2) = AND(NAND(x1, x2), OR(x1, x2))
#
# The hidden layer has two units, s1 = NAND(x) and s2 = OR(x); their outputs, stacked into a
# (4, 2) tensor, are the input of the output unit y = AND(s1, s2). The region where it fires is
# the band between two lines, which no single line can draw. Look at the y column: 0 1 1 0.


# %%
def xor_net(X):
    """XOR in two layers: hidden s1 = NAND(x), s2 = OR(x), then y = AND(s1, s2).

    Returns (s1, s2, y), each (N,).
    """
    s1, s2 = hand_gate("NAND", X), hand_gate("OR", X)
    hidden = zg.stack([s1, s2], dim=1)  # (N, 2): the hidden layer is the next layer's input
    return s1, s2, hand_gate("AND", hidden)


s1, s2, y = xor_net(Xx)
print("\n4. XOR = AND(NAND(x1, x2), OR(x1, x2)), two layers of perceptrons:")
print("   x1 x2 | s1=NAND s2=OR | y=AND")
for i, (x1, x2) in enumerate(Xx.tolist()):
    print(
        f"    {x1:.0f}  {x2:.0f} |    {as_bits(s1)[i]}      {as_bits(s2)[i]}   |   {as_bits(y)[i]}"
    )
result["xor_two_layer"] = as_bits(y)
print(f"   the network gets {int((y.numpy() == tx.numpy()).sum())} of 4 right")

# %% [markdown]
# ## The pictures
#
# Each panel shades the side where a perceptron outputs 1 and draws its line
# w1 x1 + w2 x2 + b = 0. First AND, NAND and OR: the learned line (solid) beside the book's
# (dashed); both separate the points. Then XOR: the best single line gets 3 of 4, and the
# two-layer network fires in the band between the NAND (dashed) and OR (dotted) lines.
# (Needs matplotlib; without it the lesson says so at the end.)


# %%
def draw_boundary(ax, X, t, predict, title, lines=(), steps=200):
    """Shade where ``predict`` outputs 1, draw each line w.x + b = 0, mark the four points."""
    g = np.linspace(-0.5, 1.5, steps, dtype=np.float32)
    xx, yy = np.meshgrid(g, g)
    grid = zg.tensor(np.stack([xx.ravel(), yy.ravel()], axis=1))  # (steps*steps, 2)
    z = predict(grid).numpy().reshape(xx.shape)
    ax.contourf(xx, yy, z, levels=[-0.5, 0.5, 1.5], colors=["#dde6f5", "#f8d9c4"])
    for (w, b), style in lines:
        s = w[0] * xx + w[1] * yy + b  # the line is where the weighted sum is exactly 0
        ax.contour(xx, yy, s, levels=[0.0], colors="k", linestyles=style, linewidths=1.2)
    X, t = X.numpy(), t.numpy()
    for label, marker, color in ((0, "o", "#1f4e9a"), (1, "s", "#c4501b")):
        ax.scatter(*X[t == label].T, marker=marker, s=80, color=color, label=f"t = {label}")
    ax.set(title=title, xlabel="x1", ylabel="x2", xlim=(-0.5, 1.5), ylim=(-0.5, 1.5))
    ax.set_aspect("equal")


if plt is not None:
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.9))
    for ax, gate in zip(axes, ("AND", "NAND", "OR")):
        Xg, t = logic_gate(gate)
        w, b = zg.tensor(learned[gate][0]), learned[gate][1]
        hand = HAND_SET[gate]
        draw_boundary(
            ax,
            zg.tensor(Xg),
            zg.tensor(t),
            lambda G, w=w, b=b: perceptron(G, w, b),
            f"{gate}: learned (solid), book (dashed)",
            lines=[((w.tolist(), b), "solid"), ((hand[:2], hand[2]), "dashed")],
        )
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    gates_png = out / "gates.png"
    fig.savefig(gates_png, dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(8, 4.1))
    draw_boundary(
        axes[0],
        Xx,
        tx,
        lambda G: perceptron(G, best_w, best_b),
        f"XOR, the best single line: {grid_best} of 4\nno line gets all 4",
        lines=[((best_w.tolist(), best_b), "solid")],
    )
    nand, or_ = HAND_SET["NAND"], HAND_SET["OR"]
    draw_boundary(
        axes[1],
        Xx,
        tx,
        lambda G: xor_net(G)[2],
        "XOR, two layers: 4 of 4\nlines: NAND (dashed), OR (dotted)",
        lines=[((nand[:2], nand[2]), "dashed"), ((or_[:2], or_[2]), "dotted")],
    )
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    xor_png = out / "xor.png"
    fig.savefig(xor_png, dpi=90)
    plt.close(fig)
    show(gates_png, xor_png)
    print(f"\nPictures: {gates_png}, {xor_png}")
    result["pngs"] = [str(gates_png), str(xor_png)]

# %%
skipped.report()
