# %% [markdown]
# # Lesson 14: a recurrent network learns binary addition, by hand and with nn.RNN
#
# Every network so far saw its whole input at once. A recurrent network reads a sequence one step
# at a time and keeps a **hidden state** h_t, what it has kept of the steps so far, which it hands
# to the next step; every step uses the same weights. The course's first RNN learns to add. Two
# numbers a, b < 128 come in as 8 steps of one bit pair each, **least significant bit first** (the
# order in which the carry flows), and at every step the network outputs one bit of the sum. For
# 9 + 115 = 124:
#
#     step t               1  2  3  4  5  6  7  8
#     bit of a = 9         1  0  0  1  0  0  0  0      (00001001 read from the right)
#     bit of b = 115       1  1  0  0  1  1  1  0      (01110011)
#     carry in             0  1  1  0  0  0  0  0      (what the hidden state must hold)
#     bit of a + b = 124   0  0  1  1  1  1  1  0      (01111100)
#
# The network is the course's: 2 inputs, 16 hidden units, 1 output, no biases,
#
#     h_t = f(x_t U + h_{t-1} W),   h_0 = 0         x_t (1, 2): the two bits of step t
#     y_t = sigmoid(h_t V)                          U (2, 16), W (16, 16), V (16, 1)
#     E   = 1/2 sum_t (y_t - T_t)^2                 T_t the bit of the sum
#
# with f = sigmoid in part 1 and tanh in parts 2 and 3. `--quick` stops each run as soon as it adds
# every pair; `--sums N` sets the training budget (10,000).
#
# Run it as a script with `python examples/14_binary_addition.py` or `zerograd lesson
# 14_binary_addition` (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook:
# `zerograd lesson 14_binary_addition --notebook`.

# %%
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
from zerograd import nn, optim
from zerograd.data.datasets import binary_addition

parser = argparse.ArgumentParser(
    description="Lesson 14: a recurrent network learns binary addition, by hand and with nn.RNN."
)
parser.add_argument("--quick", action="store_true", help="stop each run once it adds all pairs")
parser.add_argument("--out", default="runs/lessons/14_binary_addition", help="folder for PNGs")
parser.add_argument("--seed", type=int, default=0, help="seed for weights and sums")
parser.add_argument("--sums", type=int, default=10_000, help="training sums (10,000)")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
start = time.perf_counter()
result = {}

# %% [markdown]
# ## The network by hand: forward, backpropagation through time, training
#
# Unrolled over its 8 steps, the RNN is an 8-layer network whose layers share U, W and V. The
# forward pass keeps every h_t; the backward pass walks t = 8, 7, ..., 1. h_t changes the loss
# through its output y_t and through the next state h_{t+1}, so the gradient reaching it is the sum
# of both (nothing from the future at t = 8). With f' written through the output
# (sigmoid' = h (1 - h), tanh' = 1 - h^2), `backprop_through_time` is:
#
#     d_t    = (y_t - T_t) y_t (1 - y_t)                 through the output sigmoid
#     dh_t   = (d_t V^T + future) * f'(h_t)              dE/d(pre-activation) at step t
#     gV += h_t^T d_t,   gU += x_t^T dh_t,   gW += h_{t-1}^T dh_t
#     future = dh_t W^T                                  dE/dh_{t-1}, handed to step t - 1
#
# The gradients are sums over t because U, W and V are the same at every step. `train_by_hand`
# starts the weights uniform in [-1, 1), takes an SGD step after every single sum, and every 500
# sums tests the network on all 128 x 128 = 16,384 pairs (a pair is right when all 8 output bits
# are). `compare_gradients` and `train_with_autograd` are parts 2 and 3.

# %%
BITS, HIDDEN = 8, 16

CHECK_EVERY = 500  # sums between two tests on all 16,384 pairs


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# f and f' written with the output h = f(z), as the course does: sigmoid' = h (1 - h)
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda h: h * (1 - h)),
    "tanh": (np.tanh, lambda h: 1 - h * h),
}


def all_pairs():
    """Every a, b < 128 as bit sequences: X (16384, 8, 2), and the sums a + b (16384,)."""
    a, b = np.divmod(np.arange(128 * 128), 128)
    shifts = np.arange(BITS)
    X = np.stack([(a[:, None] >> shifts) & 1, (b[:, None] >> shifts) & 1], axis=2)
    return X.astype(np.float64), a + b


def to_int(bits):
    """Bits (..., 8), least significant first, as integers."""
    return (np.asarray(bits) * 2 ** np.arange(BITS)).sum(-1).astype(np.int64)


def forward(params, X, act="sigmoid"):
    """The network on a batch X (N, 8, 2): hidden states (N, 9, H) with h_0 = 0, outputs (N, 8)."""
    U, W, V = params
    f = ACTIVATIONS[act][0]
    N = len(X)
    hs = np.zeros((N, BITS + 1, U.shape[1]))
    ys = np.zeros((N, BITS))
    for t in range(BITS):
        hs[:, t + 1] = f(X[:, t] @ U + hs[:, t] @ W)
        ys[:, t] = sigmoid(hs[:, t + 1] @ V)[:, 0]
    return hs, ys


def backprop_through_time(params, X, T, act="sigmoid"):
    """E = 1/2 sum (y - T)^2 and its gradients (gU, gW, gV), by backpropagation through time.

    Forward keeps every h_t. Backward walks t = 8 ... 1 carrying dE/dh_t from the future:
        d_t   = (y_t - T_t) y_t (1 - y_t)                 (through the output sigmoid)
        dh_t  = (d_t V^T + dh_{t+1}^future) * f'(h_t)     (what h_t changes: y_t and h_{t+1})
        gV += h_t^T d_t,  gU += x_t^T dh_t,  gW += h_{t-1}^T dh_t,  future for t-1: dh_t W^T
    """
    U, W, V = params
    fprime = ACTIVATIONS[act][1]
    hs, ys = forward(params, X, act)
    gU, gW, gV = np.zeros_like(U), np.zeros_like(W), np.zeros_like(V)
    future = np.zeros((len(X), U.shape[1]))  # dE/dh_{t+1} flowing back through W
    for t in reversed(range(BITS)):
        d = ((ys[:, t] - T[:, t]) * ys[:, t] * (1 - ys[:, t]))[:, None]  # (N, 1)
        gV += hs[:, t + 1].T @ d
        dh = (d @ V.T + future) * fprime(hs[:, t + 1])
        gU += X[:, t].T @ dh
        gW += hs[:, t].T @ dh
        future = dh @ W.T
    return 0.5 * ((ys - T) ** 2).sum(), (gU, gW, gV)


def pairs_right_by_hand(params, X, sums, act="sigmoid") -> float:
    return float((to_int(forward(params, X, act)[1] > 0.5) == sums).mean())


def train_by_hand(sums_X, sums_T, X_all, sums_all, seed, lr, quick):
    """Part 1: the course's loop, one sum per update; returns the params and the test curve."""
    rng = np.random.default_rng(seed)
    # the course's init: uniform in [-1, 1)
    params = [2 * rng.random(s) - 1 for s in ((2, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 1))]
    curve, first = [], None
    for i in range(len(sums_X)):
        _, grads = backprop_through_time(params, sums_X[i : i + 1], sums_T[i : i + 1])
        for p, g in zip(params, grads):
            p -= lr * g
        if (i + 1) % CHECK_EVERY == 0:
            curve.append((i + 1, pairs_right_by_hand(params, X_all, sums_all)))
            if curve[-1][1] == 1.0 and first is None:
                first = i + 1
                if quick:
                    break
    return params, curve, first


class AdderRNN(nn.Module):
    """The same network from the library: nn.RNN(2, 16, tanh, no bias) and nn.Linear(16, 1)."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(2, HIDDEN, nonlinearity="tanh", bias=False, batch_first=True)
        self.out = nn.Linear(HIDDEN, 1, bias=False)

    def forward(self, x):
        h, _ = self.rnn(x)  # (N, 8, 16)
        return self.out(h).sigmoid()[..., 0]  # (N, 8)


def compare_gradients(seed) -> float:
    """Part 2: hand-written BPTT (tanh) vs autograd through nn.RNN on the same weights (float64)."""
    zg.manual_seed(seed)
    model = AdderRNN().double()
    X, T = binary_addition(4, seed=seed)
    X, T = X.astype(np.float64), T.astype(np.float64)
    y = model(zg.tensor(X))
    (0.5 * ((y - zg.tensor(T)) ** 2).sum()).backward()
    # nn.RNN computes x W_ih^T + h W_hh^T, Linear h W^T: the course's U, W, V are their transposes
    params = [
        model.rnn.weight_ih_l0.data.T,
        model.rnn.weight_hh_l0.data.T,
        model.out.weight.data.T,
    ]
    _, (gU, gW, gV) = backprop_through_time(params, X, T, act="tanh")
    autograd = [model.rnn.weight_ih_l0.grad.data.T, model.rnn.weight_hh_l0.grad.data.T]
    autograd.append(model.out.weight.grad.data.T)
    return max(float(np.abs(a - b).max()) for a, b in zip((gU, gW, gV), autograd))


def train_with_autograd(sums_X, sums_T, X_all, sums_all, seed, lr, quick):
    """Part 3: nn.RNN, autograd and optim.SGD on the same stream of sums."""
    zg.manual_seed(seed)
    model = AdderRNN()
    opt = optim.SGD(model.parameters(), lr=lr)
    curve, first = [], None
    X_all32 = zg.tensor(X_all.astype(np.float32))
    for i in range(len(sums_X)):
        y = model(zg.tensor(sums_X[i : i + 1]))
        loss = 0.5 * ((y - zg.tensor(sums_T[i : i + 1])) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (i + 1) % CHECK_EVERY == 0:
            with zg.no_grad():
                right = float((to_int(model(X_all32).data > 0.5) == sums_all).mean())
            curve.append((i + 1, right))
            if right == 1.0 and first is None:
                first = i + 1
                if quick:
                    break
    return model, curve, first


def show_sum(bits_a, bits_b, bits_out) -> str:
    """a + b = output, each written most significant bit first as we read numbers."""
    a, b, c = to_int(bits_a), to_int(bits_b), to_int(bits_out)
    row = lambda bits: "".join(str(int(v)) for v in bits[::-1])  # noqa: E731
    return f"{row(bits_a)} + {row(bits_b)} = {row(bits_out)}   ({a} + {b} = {c})"


# %% [markdown]
# ## Part 1: the course's RNN written by hand
#
# Sigmoid hidden units, SGD with lr 0.5, one sum at a time. Look at when it first adds every pair
# right: far fewer sums than the 16,384 pairs, so it has not learned a table but the carry rule.
# The two sums are printed most significant bit first, as we read numbers.

# %%
X_all, sums_all = all_pairs()
sums_X, sums_T = binary_addition(args.sums, seed=args.seed)  # the stream both parts train on
sums_X, sums_T = sums_X.astype(np.float64), sums_T.astype(np.float64)

print(f"Part 1: the course's RNN written by hand (2-{HIDDEN}-1, sigmoid, no biases), SGD lr")
print(f"  0.5, one sum at a time, tested every {CHECK_EVERY} sums on all 16,384 pairs a, b < 128")
params, curve, first = train_by_hand(sums_X, sums_T, X_all, sums_all, args.seed, 0.5, args.quick)
for n, right in curve[:: max(1, len(curve) // 10)]:
    print(f"  after {n:6d} sums: {right * 100:6.2f}% of the pairs added right")
final = pairs_right_by_hand(params, X_all, sums_all)
print(f"  every pair right after {first} sums; after {curve[-1][0]}: {final * 100:.2f}%")
result.update(hand_curve=curve, hand_first=first, hand_final=final)
_, ys = forward(params, X_all[[9 * 128 + 115, 127 * 128 + 127]])
for k, row in zip((9 * 128 + 115, 127 * 128 + 127), ys > 0.5):
    print("  " + show_sum(X_all[k, :, 0], X_all[k, :, 1], row))

# %% [markdown]
# ## Part 2: checked against autograd
#
# The same network from the library: `nn.RNN(2, 16, nonlinearity="tanh", bias=False,
# batch_first=True)`, `nn.Linear(16, 1, bias=False)` and a sigmoid. `nn.RNN` keeps PyTorch's
# layout and computes x W_ih^T + h W_hh^T, so the course's U, W, V are `weight_ih_l0.T`,
# `weight_hh_l0.T` and `out.weight.T`. On the same weights and 4 sums, in float64, the
# hand-written gradients (with tanh units) and autograd's must agree to rounding.

# %%
print("\nPart 2: the hand-written gradients (with tanh units) against nn.RNN + autograd")
diff = compare_gradients(args.seed)
print(f"  same weights, 4 sums, float64: largest difference over gU, gW, gV = {diff:.1e}")
result["gradient_difference"] = diff

# %% [markdown]
# ## Part 3: nn.RNN trained with autograd
#
# `optim.SGD(lr=0.1)` in float32 on the same stream of sums, tested the same way.

# %%
print("\nPart 3: nn.RNN(2, 16, tanh) + nn.Linear(16, 1) + sigmoid, autograd and SGD lr 0.1,")
print("  on the same stream of sums")
model, curve, first = train_with_autograd(
    sums_X.astype(np.float32), sums_T.astype(np.float32), X_all, sums_all, args.seed, 0.1,
    args.quick,
)  # fmt: skip
for n, right in curve[:: max(1, len(curve) // 10)]:
    print(f"  after {n:6d} sums: {right * 100:6.2f}% of the pairs added right")
print(f"  every pair right after {first} sums; after {curve[-1][0]}: {curve[-1][1] * 100:.2f}%")
result.update(rnn_curve=curve, rnn_first=first, rnn_final=curve[-1][1])

# %% [markdown]
# ## The learning curves
#
# The share of all 16,384 pairs added right, as training goes on, for both networks.

# %%
if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, c in (
        ("by hand (sigmoid)", result["hand_curve"]),
        ("nn.RNN (tanh)", curve),
    ):
        ax.plot([n for n, _ in c], [r * 100 for _, r in c], marker="o", label=name)
    ax.set(xlabel="training sums seen", ylabel="% of the 16,384 pairs added right")
    ax.set_title("An RNN learns to add 8-bit numbers")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "14_binary_addition.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    show(path)
    result["png"] = str(path)
    print(f"\nWrote {path} ({time.perf_counter() - start:.1f} s in all)")
else:
    print(f"\n{time.perf_counter() - start:.1f} s in all")

# %%
skipped.report()
