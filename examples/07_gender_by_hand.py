# %% [markdown]
# # Lesson 7: a first network by hand, the height/weight gender example
#
# The popular "first neural network" tutorial: guess a person's sex from their weight and height
# with a 2-2-1 network of sigmoid neurons. Two inputs x0 (weight) and x1 (height), two hidden
# neurons, one output, nine numbers in all:
#
#     h1 = sigmoid(w1 x0 + w2 x1 + b1)
#     h2 = sigmoid(w3 x0 + w4 x1 + b2)
#     y_pred = o1 = sigmoid(w5 h1 + w6 h2 + b3),      sigmoid(x) = 1 / (1 + exp(-x))
#
# The lesson trains it twice on the same six people: first with every partial derivative written
# out by hand (nine numbers and the chain rule, line by line), then with zerograd's autograd
# (`loss.backward()` and `optim.SGD`), and checks after every step that the two agree. The whole
# run takes a few seconds, so `--quick` changes nothing.
#
# Run it as a script with `python examples/07_gender_by_hand.py` or
# `zerograd lesson 07_gender_by_hand` (`--out DIR` for the picture, `--seed N` for other initial
# weights, `--epochs N`, `--lr`), or as a notebook: `zerograd lesson 07_gender_by_hand --notebook`.

# %%
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
import zerograd.functional as F
from zerograd import optim

parser = argparse.ArgumentParser(
    description="Lesson 7: a first network by hand, the height/weight gender example."
)
parser.add_argument("--quick", action="store_true", help="the same run (it is already quick)")
parser.add_argument("--out", default="runs/lessons/07_gender_by_hand", help="folder for PNGs")
parser.add_argument("--seed", type=int, default=0, help="seed of the N(0, 1) initial weights")
parser.add_argument("--epochs", type=int, default=1000)
parser.add_argument("--lr", type=float, default=0.1)
args = parse_args(parser)
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
start = time.perf_counter()

skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
plt = skipped.pyplot()  # None without matplotlib: the numbers still print


# %% [markdown]
# ## The data and the network by hand
#
# Six people, (weight, height) measured from the first one at (0, 0), so the numbers stay near 0
# where a sigmoid still has a slope (it is flat far from 0, and flat means no gradient), labelled
# 1 = male, 0 = female. The network's nine numbers live in a plain dict `p`; `feedforward` is the
# three formulas above and `mse` the mean of (y_true - y_pred)^2 over the six people.

# %%
# Six people: (weight, height) measured from the first person, who sits at (0, 0). Shifted this
# way the raw numbers stay near 0, where a sigmoid still has a slope (it is flat far from 0, and
# flat means no gradient). Label 1 is "male", 0 "female".
DATA = [
    (0.0, 0.0),
    (27.0, 17.0),
    (19.0, 12.0),
    (-13.0, -13.0),
    (27.0, 10.0),
    (-13.0, 0.0),
]
LABELS = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0]
NEW_PEOPLE = {"(47, 11)": (47.0, 11.0), "(-23, -5)": (-23.0, -5.0)}
NAMES = ["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3"]


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def deriv_sigmoid(x: float) -> float:
    # d/dx sigmoid(x) = sigmoid(x) (1 - sigmoid(x))
    s = sigmoid(x)
    return s * (1 - s)


def feedforward(p: dict, x: tuple) -> float:
    """The network with its nine numbers: h1, h2 from the inputs, o1 from h1 and h2."""
    h1 = sigmoid(p["w1"] * x[0] + p["w2"] * x[1] + p["b1"])
    h2 = sigmoid(p["w3"] * x[0] + p["w4"] * x[1] + p["b2"])
    return sigmoid(p["w5"] * h1 + p["w6"] * h2 + p["b3"])


def mse(p: dict) -> float:
    """Mean squared error over the six people: mean of (y_true - y_pred)^2."""
    return sum((y - feedforward(p, x)) ** 2 for x, y in zip(DATA, LABELS)) / len(DATA)


# %% [markdown]
# ## One SGD step, every derivative by hand
#
# The loss for one person is the squared error L = (y_true - y_pred)^2, and training is per-sample
# SGD: for each person in turn, every weight moves against its partial derivative,
# w <- w - lr dL/dw. Each derivative is a product along the path from the weight to the loss (the
# chain rule), with sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)):
#
#     dL/dy_pred = -2 (y_true - y_pred)
#     dL/dw5 = dL/dy_pred * h1 sigmoid'(w5 h1 + w6 h2 + b3)
#     dL/dw1 = dL/dy_pred * w5 sigmoid'(w5 h1 + w6 h2 + b3) * x0 sigmoid'(w1 x0 + w2 x1 + b1)
#     ... nine of them, one line each below.


# %%
def sgd_step_by_hand(p: dict, x: tuple, y_true: float, lr: float) -> None:
    """One SGD step on one person, every partial derivative written out (updates p in place)."""
    # forward pass, keeping the sums before each sigmoid: the derivatives need them
    sum_h1 = p["w1"] * x[0] + p["w2"] * x[1] + p["b1"]
    h1 = sigmoid(sum_h1)
    sum_h2 = p["w3"] * x[0] + p["w4"] * x[1] + p["b2"]
    h2 = sigmoid(sum_h2)
    sum_o1 = p["w5"] * h1 + p["w6"] * h2 + p["b3"]
    y_pred = sigmoid(sum_o1)

    # loss L = (y_true - y_pred)^2, so dL/dy_pred = -2 (y_true - y_pred)
    d_L_d_ypred = -2 * (y_true - y_pred)

    # output neuron o1: y_pred = sigmoid(w5 h1 + w6 h2 + b3)
    d_ypred_d_w5 = h1 * deriv_sigmoid(sum_o1)
    d_ypred_d_w6 = h2 * deriv_sigmoid(sum_o1)
    d_ypred_d_b3 = deriv_sigmoid(sum_o1)
    d_ypred_d_h1 = p["w5"] * deriv_sigmoid(sum_o1)
    d_ypred_d_h2 = p["w6"] * deriv_sigmoid(sum_o1)

    # hidden neuron h1: h1 = sigmoid(w1 x0 + w2 x1 + b1)
    d_h1_d_w1 = x[0] * deriv_sigmoid(sum_h1)
    d_h1_d_w2 = x[1] * deriv_sigmoid(sum_h1)
    d_h1_d_b1 = deriv_sigmoid(sum_h1)

    # hidden neuron h2: h2 = sigmoid(w3 x0 + w4 x1 + b2)
    d_h2_d_w3 = x[0] * deriv_sigmoid(sum_h2)
    d_h2_d_w4 = x[1] * deriv_sigmoid(sum_h2)
    d_h2_d_b2 = deriv_sigmoid(sum_h2)

    # the chain rule: dL/dw1 = dL/dy_pred * dy_pred/dh1 * dh1/dw1, and so on; then w -= lr * dL/dw
    p["w1"] -= lr * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1
    p["w2"] -= lr * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2
    p["b1"] -= lr * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1
    p["w3"] -= lr * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3
    p["w4"] -= lr * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4
    p["b2"] -= lr * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2
    p["w5"] -= lr * d_L_d_ypred * d_ypred_d_w5
    p["w6"] -= lr * d_L_d_ypred * d_ypred_d_w6
    p["b3"] -= lr * d_L_d_ypred * d_ypred_d_b3


# %% [markdown]
# ## The same network with autograd
#
# The nine numbers become tensors in PyTorch's layout, one row per neuron:
# W1 = [[w1, w2], [w3, w4]], b1 = [b1, b2], W2 = [[w5, w6]], b2 = [b3], all float64 with
# `requires_grad=True`. The forward pass is
# `F.sigmoid(F.linear(F.sigmoid(F.linear(x, W1, b1)), W2, b2))`, the loss `F.mse_loss`, and
# `loss.backward()` fills every `.grad`.


# %%
def autograd_net(w: dict) -> tuple:
    """The same net as tensors: layer 1 is W1 = [[w1, w2], [w3, w4]], b1 = [b1, b2]; layer 2 is
    W2 = [[w5, w6]], b2 = [b3] (PyTorch's layout: one row per neuron)."""
    W1 = zg.tensor([[w["w1"], w["w2"]], [w["w3"], w["w4"]]], dtype=zg.float64, requires_grad=True)
    b1 = zg.tensor([w["b1"], w["b2"]], dtype=zg.float64, requires_grad=True)
    W2 = zg.tensor([[w["w5"], w["w6"]]], dtype=zg.float64, requires_grad=True)
    b2 = zg.tensor([w["b3"]], dtype=zg.float64, requires_grad=True)
    return W1, b1, W2, b2


def autograd_forward(x: zg.Tensor, W1, b1, W2, b2) -> zg.Tensor:
    """x (N, 2) -> y_pred (N, 1): h = sigmoid(x W1^T + b1), y_pred = sigmoid(h W2^T + b2)."""
    h = F.sigmoid(F.linear(x, W1, b1))  # (N, 2)
    return F.sigmoid(F.linear(h, W2, b2))


def as_nine(W1, b1, W2, b2) -> np.ndarray:
    """The tensors back in the order w1..w6, b1..b3, to compare with the hand-written net."""
    return np.concatenate([t.detach().numpy().ravel() for t in (W1, W2, b1, b2)])


# %% [markdown]
# ## The starting point
#
# Both nets start from the same nine N(0, 1) numbers (the tutorial's init, drawn with
# `zg.manual_seed(seed)`, then `zg.randn(9, dtype=zg.float64)`). The inputs reach 27, so an unlucky
# draw can start a hidden sigmoid deep in its flat part, where its slope, and every gradient
# through it, is almost 0. The default seed 0 trains well; of seeds 0 to 59 only seed 55 ends less
# sure about the first new person (0.82).

# %%
# The tutorial draws all nine numbers from N(0, 1). Our inputs reach 27, so an unlucky draw
# can saturate a sigmoid (its slope, and so every gradient through it, is then ~0) and slow
# learning down; the default seed 0 trains well, and a seed makes the run repeat exactly.
zg.manual_seed(args.seed)
draw = zg.randn(9, dtype=zg.float64).numpy()
init = {name: float(v) for name, v in zip(NAMES, draw)}
print(f"seed {args.seed}: initial weights from N(0, 1)")
print("  " + "  ".join(f"{n}={v:+.4f}" for n, v in init.items()))


# %% [markdown]
# ## Training both, step for step
#
# For each person in turn: a step by hand (`sgd_step_by_hand`), and a step with autograd
# (`opt.zero_grad()`, forward, loss, `loss.backward()`, `opt.step()`, which does p -= lr * p.grad).
# After every step the cell compares all nine numbers. Look at the two loss columns (the same) and
# at the largest difference at the end: a few units in the last place of float64. Autograd
# computes exactly the derivatives written by hand.

# %%
# 1) By hand: nine plain floats, the chain rule spelled out in sgd_step_by_hand.
# 2) With autograd: the same numbers as tensors, gradients from loss.backward().
hand = dict(init)
W1, b1, W2, b2 = autograd_net(init)
opt = optim.SGD([W1, b1, W2, b2], lr=args.lr)  # plain SGD: p -= lr * p.grad
X_all = zg.tensor(DATA, dtype=zg.float64)  # (6, 2)
T_all = zg.tensor(LABELS, dtype=zg.float64).reshape(6, 1)  # (6, 1)


def autograd_mse() -> float:
    with zg.no_grad():
        return F.mse_loss(autograd_forward(X_all, W1, b1, W2, b2), T_all).item()


max_diff, losses = 0.0, [mse(hand)]
print(f"\n{'epoch':>5s}  {'loss by hand':>12s}  {'loss autograd':>13s}")
print(f"{0:5d}  {losses[0]:12.6f}  {autograd_mse():13.6f}")
for epoch in range(1, args.epochs + 1):
    for i, (x, y) in enumerate(zip(DATA, LABELS)):
        sgd_step_by_hand(hand, x, y, args.lr)

        y_pred = autograd_forward(X_all[i : i + 1], W1, b1, W2, b2)  # person i: (1, 2) -> (1, 1)
        loss = F.mse_loss(y_pred, T_all[i : i + 1])  # (y_true - y_pred)^2
        opt.zero_grad()
        loss.backward()
        opt.step()

        # the two nets must hold the same nine numbers after every single step
        diff = np.abs(as_nine(W1, b1, W2, b2) - np.array([hand[n] for n in NAMES])).max()
        max_diff = max(max_diff, float(diff))
    losses.append(mse(hand))
    if epoch % 100 == 0:
        print(f"{epoch:5d}  {losses[-1]:12.6f}  {autograd_mse():13.6f}")

steps = args.epochs * len(DATA)
print(f"\nmax |hand - autograd| over all {steps} steps and 9 parameters: {max_diff:.2e}")
print("trained weights (by hand):")
print("  " + "  ".join(f"{n}={hand[n]:+.4f}" for n in NAMES))


# %% [markdown]
# ## Two new people
#
# An output near 1 means "male", near 0 "female".

# %%
# Two new people; an output near 1 means "male", near 0 "female".
predictions, predictions_autograd = {}, {}
for label, x in NEW_PEOPLE.items():
    predictions[label] = p = feedforward(hand, x)
    with zg.no_grad():
        x_t = zg.tensor([x], dtype=zg.float64)  # (1, 2)
        predictions_autograd[label] = q = autograd_forward(x_t, W1, b1, W2, b2).item()
    guess = "male" if p > 0.5 else "female"
    print(f"prediction for {label}: {p:.4f} by hand, {q:.4f} autograd ({guess})")

result = {
    "seed": args.seed,
    "epochs": args.epochs,
    "steps": steps,
    "initial_loss": losses[0],
    "final_loss": losses[-1],
    "max_diff": max_diff,
    "params": dict(hand),
    "predictions": predictions,
    "predictions_autograd": predictions_autograd,
}


# %% [markdown]
# ## The loss curve
#
# The mean squared error over the six people, per epoch, on a log scale: it keeps falling by
# orders of magnitude.

# %%
# the picture (matplotlib, the plot extra)
if plt is not None:
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=90)
    ax.plot(range(len(losses)), losses)
    ax.set_yscale("log")  # the loss keeps falling by orders of magnitude
    ax.set_title(f"2-2-1 sigmoid net, per-sample SGD (lr {args.lr})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE over the 6 people")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    loss_png = out / "loss_curve.png"
    fig.savefig(loss_png)
    plt.close(fig)
    show(loss_png)
    print(f"wrote {loss_png}")
    result.update(loss_png=str(loss_png), pngs=[str(loss_png)])
print(f"time: {time.perf_counter() - start:.1f} s")


# %%
skipped.report()
