# %% [markdown]
# # Lesson 15: an LSTM reads MNIST digits row by row
#
# The lesson turns an image into a sequence: a 28 x 28 digit becomes 28 steps x_1, ..., x_28, step
# t being row t (28 pixels), top row first. The network sees one row per step and classifies the
# digit from its hidden state after the last row, h_28 -> `Linear(128, 10)`. Whatever it needs from
# the top of the digit (the bar of a 7, the loop of a 9) it must carry through up to 27 more
# steps: a clean test of memory.
#
# The full MNIST is read from `ZEROGRAD_DATA` when present, else the 6,000-image sample; `--quick`
# trains four epochs on the sample (and the RNN one), `--epochs N` sets the LSTM's epochs (8).
#
# Run it as a script with `python examples/15_lstm_mnist.py` or `zerograd lesson 15_lstm_mnist`
# (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook: `zerograd lesson
# 15_lstm_mnist --notebook`.

# %%
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
from zerograd import models, nn, optim
from zerograd.data import DataLoader
from zerograd.train import fit

parser = argparse.ArgumentParser(description="Lesson 15: an LSTM reads MNIST digits row by row.")
parser.add_argument("--quick", action="store_true", help="4 epochs on the sample")
parser.add_argument("--out", default="runs/lessons/15_lstm_mnist", help="folder for the PNG")
parser.add_argument("--seed", type=int, default=0, help="seed for weights and batches")
parser.add_argument("--epochs", type=int, default=None, help="LSTM epochs (8; quick 4)")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (matplotlib, the MNIST files): one line each
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
epochs = args.epochs or (4 if args.quick else 8)
result = {}

# %% [markdown]
# ## The LSTM step by hand, the plain RNN, and the training loop
#
# `nn.LSTM` follows PyTorch (and so the usual formulation):
#
#     i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      input gate
#     f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      forget gate
#     g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)         candidate values
#     o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)      output gate
#     c_t = f_t * c_{t-1} + i_t * g_t                           cell state
#     h_t = o_t * tanh(c_t)                                     hidden state, the output
#
# (* is elementwise, h_0 = c_0 = 0). f says how much of the old cell to keep, i how much of the
# candidate g to write into it, o how much of the cell to show as h_t. The four gates' weights are
# stacked in one matrix each, `weight_ih_l0` (4H, 28) and `weight_hh_l0` (4H, H), rows in the order
# i, f, g, o, so a step is one product z = x W_ih^T + h W_hh^T + b_ih + b_hh of shape (N, 4H),
# split in four: `lstm_step_by_hand`. `RowRNN` is a plain tanh RNN with the same head; `train` fits
# a model with Adam and gradients clipped to a global norm of 1 (`fit(..., clip_grad_norm=1.0)`).

# %%


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step_by_hand(lstm, x, h, c):
    """One LSTM step from the layer's weights: the four gates from one stacked matrix product."""
    W_ih, W_hh = lstm.weight_ih_l0.data, lstm.weight_hh_l0.data
    b = lstm.bias_ih_l0.data + lstm.bias_hh_l0.data
    z = x @ W_ih.T + h @ W_hh.T + b  # (N, 4H): i, f, g, o side by side
    i, f, g, o = np.split(z, 4, axis=1)
    c_next = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c_next), c_next


def check_one_step(seed) -> float:
    """Part 1: the hand-written step against nn.LSTM on one row of pixels (float64)."""
    zg.manual_seed(seed)
    lstm = nn.LSTM(28, 8, batch_first=True).double()
    rng = np.random.default_rng(seed)
    x, h, c = (
        rng.random((3, 28)),
        rng.standard_normal((3, 8)),
        rng.standard_normal((3, 8)),
    )
    _, (h1, c1) = lstm(zg.tensor(x[:, None]), (zg.tensor(h[None]), zg.tensor(c[None])))
    h_hand, c_hand = lstm_step_by_hand(lstm, x, h, c)
    return max(
        float(np.abs(h1.data[0] - h_hand).max()),
        float(np.abs(c1.data[0] - c_hand).max()),
    )


class RowRNN(nn.Module):
    """The same reader with a plain tanh RNN in place of the LSTM."""

    def __init__(self, hidden_size=128):
        super().__init__()
        self.rnn = nn.RNN(28, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 10)

    def forward(self, x):
        out, _ = self.rnn(x.reshape(x.shape[0], 28, 28))
        return self.head(out[:, -1])


def train(model, train_loader, test_loader, epochs, label):
    opt = optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        train_loader,
        epochs=epochs,
        val_loader=test_loader,
        clip_grad_norm=1.0,
        progress=False,
    )
    seconds = time.perf_counter() - start
    for logs in history.epochs:
        print(
            f"  {label} epoch {logs['epoch']}: train loss {logs['loss']:.4f}, "
            f"test accuracy {logs['val_accuracy'] * 100:.2f}%"
        )
    return history, seconds


# %% [markdown]
# ## Part 1: one LSTM step by hand
#
# The NumPy step against `nn.LSTM`'s h_t and c_t on the same weights, float64: they must agree to
# rounding.

# %%
print("Part 1: one LSTM step by hand (gates i, f, g, o from one stacked product)")
diff = check_one_step(args.seed)
print(f"  largest difference from nn.LSTM's h' and c' (float64): {diff:.1e}")
result["step_difference"] = diff

# %% [markdown]
# ## Part 2: models.RowLSTM reads the digits
#
# `LSTM(28, 128)` and `Linear(128, 10)` on the last state, Adam (lr 1e-3), batch 100; the test
# accuracy after every epoch is reported, never used to choose anything.

# %%
train_set, test_set, what = skipped.mnist_splits(sample=True if args.quick else None)
print(f"\nPart 2: models.RowLSTM on {what}: each digit as 28 steps of 28 pixels")
print(f"  LSTM(28, 128) -> last state -> Linear(128, 10); Adam lr 1e-3, batch 100, {epochs}")
print("  epochs, gradients clipped to norm 1")
zg.manual_seed(args.seed)
loader = DataLoader(train_set, batch_size=100, shuffle=True)
test_loader = DataLoader(test_set, batch_size=1000)
lstm_history, seconds = train(models.RowLSTM(), loader, test_loader, epochs, "LSTM")
result["lstm_accuracy"] = lstm_history.last["val_accuracy"]
result["lstm_seconds"] = seconds
print(f"  test accuracy {result['lstm_accuracy'] * 100:.2f}% ({seconds:.0f} s of training)")

# %% [markdown]
# ## Part 3: a plain tanh RNN, for comparison
#
# Why the LSTM: the loss sits at step 28, and the gradient that tells the network what to keep from
# row 1 has to go back 27 steps. In a plain tanh RNN each step back multiplies it by
#
#     dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh
#
# so over many steps it vanishes (or explodes) geometrically. The LSTM's cell state is updated by
# addition, so along the cell dc_t/dc_{t-1} = diag(f_t): no matrix and no tanh', only the forget
# gate. Where the network keeps f near 1, what a unit holds, and its gradient, cross many steps
# almost intact. Look at the RNN's accuracy against the LSTM's.

# %%
rnn_epochs = epochs if not args.quick else 1
print(f"\nPart 3: a plain tanh RNN(28, 128) read the same way, {rnn_epochs} epochs")
zg.manual_seed(args.seed)
rnn_history, seconds = train(RowRNN(), loader, test_loader, rnn_epochs, "RNN")
result["rnn_accuracy"] = rnn_history.last["val_accuracy"]
print(f"  test accuracy {result['rnn_accuracy'] * 100:.2f}% ({seconds:.0f} s of training)")

# %% [markdown]
# ## The test accuracy per epoch
#
# Both models, epoch by epoch.

# %%
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, h in (("LSTM(128)", lstm_history), ("tanh RNN(128)", rnn_history)):
        ax.plot(h["epoch"], [a * 100 for a in h["val_accuracy"]], marker="o", label=label)
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title="Reading digits row by row")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "15_lstm_mnist.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    show(path)
    result["png"] = str(path)
    print(f"\nWrote {path}")

# %%
skipped.report()
