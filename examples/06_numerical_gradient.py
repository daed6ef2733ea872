# %% [markdown]
# # Lesson 6: numerical gradient vs backpropagation
#
# Training needs the derivative of the loss L with respect to every weight. Two ways to get it for
# the book's TwoLayerNet (784-50-10, sigmoid hidden layer, softmax cross-entropy) on MNIST: central
# differences, one weight at a time (`zerograd.numerical_gradient`), and backpropagation
# (`loss.backward()`). On 3 images the two agree to about ten digits; timed on a batch of 100, the
# numerical way is tens of thousands of times slower, so a training run that takes backprop
# seconds would take it days. Then the lesson trains the network with backprop to 97% test
# accuracy.
#
# The full MNIST files are read from `ZEROGRAD_DATA` (a folder holding `mnist/`); without them the
# lesson uses the 6,000 / 1,000-image sample shipped in the package. `--quick` checks a sample of
# the weights and trains 2 epochs on 6,000 images.
#
# Run it as a script with `python examples/06_numerical_gradient.py` or
# `zerograd lesson 06_numerical_gradient` (`--quick` for the short run, `--out DIR` for the
# pictures), or as a notebook: `zerograd lesson 06_numerical_gradient --notebook`.

# %%
import argparse
import time
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
import zerograd.functional as F
from zerograd import nn, optim
from zerograd.data import DataLoader, Subset
from zerograd.train import LRSchedulerCallback, fit

parser = argparse.ArgumentParser(description="Lesson 6: numerical gradient vs backpropagation.")
parser.add_argument(
    "--quick",
    action="store_true",
    help="check 200 elements per weight, 2 epochs on 6,000",
)
parser.add_argument(
    "--out", default="runs/lessons/06_numerical_gradient", help="folder for the PNGs"
)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--epochs", type=int, default=None, help="default: 10 (quick: 2)")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (matplotlib, the MNIST files): one line each
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
zg.manual_seed(args.seed)
rng = np.random.default_rng(args.seed)  # picks the weights checked in quick mode
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
epochs = args.epochs or (2 if args.quick else 10)

train, test, _ = skipped.mnist_splits(flatten=True)  # the package's sample without the files


# %% [markdown]
# ## The network and the numerical gradient
#
# The numerical way nudges one weight w at a time and runs the network twice:
#
#     dL/dw ~ (L(w + h) - L(w - h)) / 2h,   h = 1e-4
#
# This is the central difference. Its error shrinks like h^2, where the one-sided
# (L(w + h) - L(w)) / h only shrinks like h. `zerograd.numerical_gradient(f, x)` computes it for
# each element of x in turn, changing x in place and putting every element back. TwoLayerNet has
# 784 x 50 + 50 + 50 x 10 + 10 = 39,760 parameters, so one numerical gradient costs 79,520 forward
# passes; backpropagation gets all 39,760 derivatives from one forward and one backward pass.
# `numerical_grad` can also do a subset of a weight's elements (quick mode, and the timing).

# %%
BOOK_NAMES = {"0.weight": "W1", "0.bias": "b1", "2.weight": "W2", "2.bias": "b2"}


def two_layer_net():
    """The book's TwoLayerNet: x -> Linear(784, 50) -> sigmoid -> Linear(50, 10) -> scores."""
    return nn.Sequential(nn.Linear(784, 50), nn.Sigmoid(), nn.Linear(50, 10))


def loss_of(net, x, t):
    """The loss as a plain number: all the numerical way needs (no graph is recorded)."""
    with zg.no_grad():
        return F.cross_entropy(net(x), t).item()


def numerical_grad(loss_value, param, idx=None):
    """d loss / d param by central differences, for the flat elements ``idx`` (default: all).

    dL/dw ~ (L(w + h) - L(w - h)) / 2h for each element w, two forward passes per element.
    """
    if idx is None:
        # numerical_gradient nudges param in place, element by element, and calls the function
        return zg.numerical_gradient(lambda _: loss_value(), param).reshape(-1)
    # a subset: let numerical_gradient nudge a vector of the chosen elements, copied into the
    # weights (a view, so writing changes the model) before each loss
    flat = param.data.reshape(-1)
    saved = flat[idx].copy()

    def loss_at(values):
        flat[idx] = values
        return loss_value()

    grad = zg.numerical_gradient(loss_at, saved.copy())
    flat[idx] = saved
    return grad


def duration(seconds):
    """Seconds in the unit a person reads best."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"


# %% [markdown]
# ## 1. They agree
#
# On 3 training images, as in the book's `gradient_check.py`, both gradients in float64, and for
# each parameter the largest and the mean |backprop - numerical| (the mean is what the book prints)
# and the largest relative error |a - n| / (|a| + |n|), counted as 0 where both are exactly 0
# (weights on pixels that are background in all 3 images get no gradient either way).
#
# Why float64: the quotient divides the loss's rounding error by 2h = 2e-4. In float64 that is
# about 1e-12, small next to all but the tiniest gradients; in float32 the rounding is about 1e-7 of
# the loss, and the smaller gradients would be lost in it. Look at the last column and the
# verdict line.

# %%
net = two_layer_net().double()
loss_fn = nn.CrossEntropyLoss()  # softmax + cross-entropy, fused
x3, t3 = next(iter(DataLoader(train, batch_size=3)))  # the first 3 training images
x3 = x3.double()
loss = loss_fn(net(x3), t3)
loss.backward()  # backprop: every parameter's .grad in one backward pass
n_params = sum(p.numel() for p in net.parameters())
print(f"\n== 1. Gradients on 3 images, loss {loss.item():.4f}, {n_params:,} parameters ==")
if args.quick:
    print("quick mode: 200 random elements of each weight matrix, every bias")
print(
    f"{'parameter':<14}{'shape':>11}{'checked':>9}{'max |diff|':>13}{'mean |diff|':>13}"
    f"{'max rel. error':>16}"
)
per_param, all_backprop, all_numeric = {}, [], []
start = time.perf_counter()
for name, param in net.named_parameters():
    n = param.numel()
    idx = np.sort(rng.choice(n, 200, replace=False)) if args.quick and n > 200 else None
    numeric = numerical_grad(lambda: loss_of(net, x3, t3), param, idx)
    backprop = param.grad.numpy().reshape(-1)
    if idx is not None:
        backprop = backprop[idx]
    diff = np.abs(backprop - numeric)
    # relative error |a - n| / (|a| + |n|), 0 where both are exactly 0 (pixels that are 0
    # in all 3 images give their weights no gradient either way)
    rel = diff / np.maximum(np.abs(backprop) + np.abs(numeric), 1e-300)
    label = f"{BOOK_NAMES[name]} ({name})"
    per_param[BOOK_NAMES[name]] = {
        "checked": len(numeric),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "max_rel_error": float(rel.max()),
    }
    print(
        f"{label:<14}{str(tuple(param.shape)):>11}{len(numeric):>9}{diff.max():>13.2e}"
        f"{diff.mean():>13.2e}{rel.max():>16.2e}"
    )
    all_backprop.append(backprop)
    all_numeric.append(numeric)
check_seconds = time.perf_counter() - start
n_checked = sum(len(g) for g in all_numeric)
worst = max(v["max_rel_error"] for v in per_param.values())
verdict = "they agree" if worst < 1e-5 else "they DISAGREE (a wrong backward?)"
print(
    f"{n_checked:,} elements checked in {check_seconds:.1f} s "
    f"({2 * n_checked:,} forward passes); worst relative error {worst:.1e}: {verdict}"
)

agreement_png = out / "06_agreement.png"
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    # log-log axes show the agreement at every size; exact zeros (background pixels) are
    # left out
    for (name, _), b, n in zip(net.named_parameters(), all_backprop, all_numeric):
        keep = b != 0
        ax.scatter(np.abs(b[keep]), np.abs(n[keep]), s=6, label=BOOK_NAMES[name])
    smallest = min(np.abs(b[b != 0]).min() for b in all_backprop)
    low, high = 10.0 ** np.floor(np.log10(smallest)), 1.0
    ax.plot([low, high], [low, high], color="gray", lw=0.8, label="numerical = backprop")
    ax.set(
        xscale="log",
        yscale="log",
        xlim=(low, high),
        ylim=(low, high),
        title="|gradient| of each checked weight",
        xlabel="backprop (loss.backward())",
        ylabel="numerical (central differences)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(agreement_png, dpi=90)
    plt.close(fig)
    show(agreement_png)


# %% [markdown]
# ## 2. Backprop is much faster
#
# On a training batch of 100 images (the book's batch size): one backprop gradient (best of 20) and
# the numerical gradient on a sample of W1's elements (best of 5 rounds, the rounds least disturbed
# by other programs), then the time per element multiplied by 39,760 (the output says
# "extrapolated"). The ratio is about 2 x 39,760 x (a forward pass) / (a forward and a backward
# pass), in the tens of thousands. The book's training run is 10,000 iterations of batch 100: look
# at the days against the seconds.

# %%
x100, t100 = next(iter(DataLoader(train, batch_size=100)))
x100 = x100.double()
times = []
for _ in range(20):
    start = time.perf_counter()
    net.zero_grad()
    loss_fn(net(x100), t100).backward()
    times.append(time.perf_counter() - start)
backprop_seconds = min(times)
n_timed = 100 if args.quick else 2000
rounds = rng.choice(net[0].weight.numel(), n_timed, replace=False).reshape(5, -1)
times = []
for idx in rounds:
    start = time.perf_counter()
    numerical_grad(lambda: loss_of(net, x100, t100), net[0].weight, np.sort(idx))
    times.append((time.perf_counter() - start) / len(idx))
per_element = min(times)
numerical_seconds = per_element * n_params  # extrapolated to every parameter
ratio = numerical_seconds / backprop_seconds
iterations = 10_000  # the book's training run: 10,000 steps of batch 100
print("\n== 2. One gradient on a batch of 100 images (float64) ==")
print(f"backprop (forward + backward, best of 20): {backprop_seconds * 1000:.2f} ms")
print(
    f"numerical, timed on {n_timed:,} of W1's elements (best of 5 rounds): "
    f"{per_element * 1000:.2f} ms per element"
)
print(f"  x {n_params:,} parameters = {numerical_seconds:.1f} s per gradient (extrapolated)")
print(f"numerical / backprop: {ratio:,.0f}x slower")
print(
    f"{iterations:,} iterations (the book's training run): numerical "
    f"{duration(numerical_seconds * iterations)}, backprop "
    f"{duration(backprop_seconds * iterations)}"
)

timing_png = out / "06_timing.png"
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig, ax = plt.subplots(figsize=(6, 3))
    totals = [backprop_seconds * iterations, numerical_seconds * iterations]
    ax.barh(
        ["backprop", "numerical\n(extrapolated)"],
        [s / 3600 for s in totals],
        color=["tab:green", "tab:red"],
    )
    for row, seconds in enumerate(totals):
        ax.text(seconds / 3600, row, " " + duration(seconds), va="center")
    ax.set_xscale("log")
    ax.set_xlim(totals[0] / 3600 / 10, totals[1] / 3600 * 30)  # room for the labels
    ax.set(
        title=f"{iterations:,} gradients of TwoLayerNet, batch 100",
        xlabel="hours (log scale)",
    )
    fig.tight_layout()
    fig.savefig(timing_png, dpi=90)
    plt.close(fig)
    show(timing_png)


# %% [markdown]
# ## 3. So we train with backprop
#
# SGD with momentum 0.9, lr 0.5 annealed on a cosine over the epochs, batch 100 (`fit` with
# `LRSchedulerCallback(CosineAnnealingLR(...))`). The full run reaches about 97.6% on the 10,000
# test images in a few seconds of training.

# %%
train_set = Subset(train, range(6000)) if args.quick and len(train) > 6000 else train
model = two_layer_net()
optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
print(
    f"\n== 3. Training TwoLayerNet with backprop: SGD lr 0.5 momentum 0.9, cosine, "
    f"batch 100, {len(train_set)} images, {epochs} epochs =="
)
start = time.perf_counter()
history = fit(
    model,
    loss_fn,
    optimizer,
    DataLoader(train_set, batch_size=100, shuffle=True),
    epochs=epochs,
    val_loader=DataLoader(test, batch_size=1000),
    callbacks=[LRSchedulerCallback(schedule)],
)
train_seconds = time.perf_counter() - start
print("(train accuracy: the running mean over each epoch's batches, as the weights change)")
for e in history.epochs:
    print(
        f"epoch {e['epoch']:2d}: train accuracy {e['accuracy']:.4f}  "
        f"test accuracy {e['val_accuracy']:.4f}"
    )
test_accuracy = history.last["val_accuracy"]
print(
    f"test accuracy {test_accuracy:.4f} on {len(test):,} test images after "
    f"{train_seconds:.1f} s of training ({len(train_set) // 100 * epochs:,} gradient steps)"
)

curves_png = out / "06_accuracy.png"
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(
        history["epoch"],
        history["accuracy"],
        marker="o",
        label="train (running, per epoch)",
    )
    ax.plot(history["epoch"], history["val_accuracy"], marker="o", label="test")
    ax.axhline(0.97, color="gray", ls="--", lw=0.8, label="97%")
    ax.set(title="TwoLayerNet trained with backprop", xlabel="epoch", ylabel="accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(curves_png, dpi=90)
    plt.close(fig)
    show(curves_png)
    print(f"\npictures: {agreement_png}, {timing_png}, {curves_png}")

result = {
    "num_parameters": n_params,
    "checked": n_checked,
    "per_param": per_param,
    "max_rel_error": worst,
    "backprop_seconds": backprop_seconds,
    "numerical_seconds_per_element": per_element,
    "numerical_seconds": numerical_seconds,
    "ratio": ratio,
    "iterations": iterations,
    "is_sample": train.is_sample,
    "train_size": len(train_set),
    "epochs": epochs,
    "train_seconds": train_seconds,
    "test_accuracy": test_accuracy,
    "val_accuracy": history["val_accuracy"],
}
if plt is not None:
    result["pngs"] = [str(agreement_png), str(timing_png), str(curves_png)]

# %%
skipped.report()
