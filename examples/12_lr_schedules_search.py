# %% [markdown]
# # Lesson 12: learning-rate schedules and a random hyper-parameter search
#
# Two tools for the learning rate. First, six schedules from `zerograd.optim.lr_scheduler` drive
# the learning rate of an optimizer over 100 epochs: StepLR, MultiStepLR, ExponentialLR,
# CosineAnnealingLR, a linear warm-up followed by cosine decay (LinearLR + CosineAnnealingLR in a
# SequentialLR) and ReduceLROnPlateau, fed a scripted validation loss. Each is checked against its
# formula written out by hand. Second, the book's random search for a learning rate and a weight
# decay, scored on a validation split, with the test set used once at the very end.
#
# The default is the book's size (100 trials of 50 epochs on the full MNIST); `--quick` runs 12
# trials of 15 epochs on the 6,000-image sample shipped with zerograd; `--trials N` and
# `--epochs N` change the search's size.
#
# Run it as a script with `python examples/12_lr_schedules_search.py` or `zerograd lesson
# 12_lr_schedules_search` (`--quick` for the short run, `--out DIR` for the pictures), or as a
# notebook: `zerograd lesson 12_lr_schedules_search --notebook`.

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
from zerograd import nn, optim
from zerograd.data import DataLoader, Subset, random_split
from zerograd.optim import lr_scheduler
from zerograd.train import evaluate

parser = argparse.ArgumentParser(
    description="Lesson 12: learning-rate schedules and a random hyper-parameter search."
)
parser.add_argument("--quick", action="store_true", help="12 trials of 15 epochs, sample")
parser.add_argument("--out", default="runs/lessons/12_lr_schedules_search", help="PNG folder")
parser.add_argument("--seed", type=int, default=0, help="seed for the split, draws, weights")
parser.add_argument("--trials", type=int, default=None, help="search trials (100; quick 12)")
parser.add_argument("--epochs", type=int, default=None, help="epochs per trial (50; quick 15)")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (matplotlib, the MNIST files): one line each
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
zg.manual_seed(args.seed)
start = time.perf_counter()
result = {}

# %% [markdown]
# ## The schedules beside their formulas, and the search's net
#
# Each entry of `SCHEDULES` pairs a scheduler with its formula on paper (lr0 = 0.1, e the epoch):
#
#     StepLR(30, 0.1):                lr0 * 0.1^(e // 30)
#     MultiStepLR([30, 60, 80], 0.1): lr0 * 0.1^(number of milestones <= e)
#     ExponentialLR(0.95):            lr0 * 0.95^e
#     CosineAnnealingLR(100):         lr0 * (1 + cos(pi e / 100)) / 2
#     LinearLR 10 + cosine 90:        from lr0/10 up to lr0 in 10 epochs, then a cosine over 90
#
# ReduceLROnPlateau has no formula: it follows the metric (`VAL_LOSS`, a scripted validation loss),
# halving the lr after `patience` epochs without a new best. The search draws lr and weight decay
# log-uniformly from `LR_RANGE` and `WEIGHT_DECAY_RANGE`; `train` trains the book's 7-layer
# 784-100x6-10 ReLU MLP with SGD and returns None when the loss becomes inf or nan (too large an
# lr).

# %%
EPOCHS = 100  # part 1: how long every schedule runs

LR0 = 0.1  # part 1: the base learning rate

# Part 1's scripted validation loss: it improves, stalls (epochs 20-49), improves again once the
# lr has been cut, and stalls for good (from epoch 70).
VAL_LOSS = (
    [1.0 - 0.02 * e for e in range(20)]
    + [0.62] * 30
    + [0.62 - 0.01 * e for e in range(1, 21)]
    + [0.42] * 30
)

# Part 2's search space: log-uniform, i.e. the exponent is uniform. The book draws the lr from
# 1e-6..1e-2; for plain SGD on this net an lr below about 1e-3 barely moves in 50 epochs, so most
# of that range is wasted. Here it is 1e-4..10^-0.5 (0.32): it still shows the too-small end, the
# good one and, at the top, a diverging one.
LR_RANGE = (-4.0, -0.5)

WEIGHT_DECAY_RANGE = (-8.0, -4.0)  # the book's 1e-8..1e-4


def cosine(e: int, T: int) -> float:
    """Cosine annealing from LR0 to 0 over T epochs: LR0 * (1 + cos(pi * e / T)) / 2."""
    return LR0 * (1 + math.cos(math.pi * e / T)) / 2


def warmup_cosine(e: int) -> float:
    """From 0.1 * LR0 up to LR0 in 10 epochs (linear), then a cosine over the 90 left."""
    return LR0 * (0.1 + 0.9 * e / 10) if e < 10 else cosine(e - 10, EPOCHS - 10)


# name -> (how to build the schedule on an optimizer, its lr at epoch e written out by hand)
SCHEDULES = {
    "StepLR(30, gamma=0.1)": (
        lambda opt: lr_scheduler.StepLR(opt, step_size=30, gamma=0.1),
        lambda e: LR0 * 0.1 ** (e // 30),
    ),
    "MultiStepLR([30, 60, 80])": (
        lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[30, 60, 80], gamma=0.1),
        lambda e: LR0 * 0.1 ** sum(e >= m for m in (30, 60, 80)),
    ),
    "ExponentialLR(0.95)": (
        lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.95),
        lambda e: LR0 * 0.95**e,
    ),
    "CosineAnnealingLR(100)": (
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS),
        lambda e: cosine(e, EPOCHS),
    ),
    "LinearLR 10 + cosine 90": (
        lambda opt: lr_scheduler.SequentialLR(
            opt,
            [
                lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=10),
                lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS - 10),
            ],
            milestones=[10],
        ),
        warmup_cosine,
    ),
    "ReduceLROnPlateau(0.5, 10)": (
        lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=10),
        None,  # no formula: it follows the metric
    ),
}


def make_mlp() -> nn.Sequential:
    """The book's search net: 784 -> 100 x 6 -> 10, ReLU, He init, biases 0."""
    sizes = [784] + [100] * 6 + [10]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(n_in, n_out)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the output layer: those are the logits


def train(seed: int, dataset, lr: float, weight_decay: float, epochs: int):
    """A fresh net trained with SGD, batch 100; the same initial weights for every call.

    Returns None if training diverged (the loss became inf or nan: the lr is too large).
    """
    zg.manual_seed(seed)
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    loader = DataLoader(dataset, batch_size=100, shuffle=True)
    model.train()
    # a diverging run overflows float32; we notice it from the loss below, so NumPy's own
    # overflow warnings are kept quiet here
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            for x, t in loader:
                loss = F.cross_entropy(model(x), t)
                if not math.isfinite(loss.item()):
                    return None
                opt.zero_grad()
                loss.backward()
                opt.step()
    return model


# %% [markdown]
# ## Part 1: six schedules, each beside its formula
#
# A schedule only reads and sets its optimizer's lr, so a one-parameter optimizer is enough; the
# loop calls `sched.step()` once per epoch, after the epoch's optimizer steps (ReduceLROnPlateau's
# `step` takes the validation metric). Look at the last column: the largest difference from the
# formula over all 100 epochs.

# %%
print(f"Part 1: the lr of SGD(lr={LR0}) over {EPOCHS} epochs under six schedules")
print("  (the lr each epoch trains with; the last column is the largest difference, over")
print("  all 100 epochs, from the formula written out by hand, e.g. StepLR's")
print("  lr0 * 0.1^(epoch // 30); the plateau schedule has none: it follows the metric)")
shown = (0, 5, 10, 30, 60, 90, 99)
header = "".join(f"{f'ep {e}':>8s}" for e in shown)
print(f"\n  {'schedule':27s}{header}  max |diff|")
lrs = {}
for name, (make_schedule, formula) in SCHEDULES.items():
    # a one-parameter optimizer is enough: a schedule only reads and sets its lr
    opt = optim.SGD([nn.Parameter(zg.zeros(1))], lr=LR0)
    sched = make_schedule(opt)
    lrs[name] = []
    for epoch in range(EPOCHS):
        lrs[name].append(opt.param_groups[0]["lr"])  # the lr this epoch trains with
        # ... one epoch of training (opt.step() per batch) would go here ...
        if isinstance(sched, lr_scheduler.ReduceLROnPlateau):
            sched.step(VAL_LOSS[epoch])  # after validating: it needs the metric
        else:
            sched.step()  # once per epoch, after the epoch's optimizer steps
    check = "  (metric)"
    if formula is not None:
        diff = max(abs(lr - formula(e)) for e, lr in enumerate(lrs[name]))
        result[f"formula_diff_{name.split('(')[0].split()[0]}"] = diff
        check = f"  {diff:10.1e}"
    values = "".join(f" {lrs[name][e]:7.2g}" for e in shown)
    print(f"  {name:27s}{values}{check}")
plateau = lrs["ReduceLROnPlateau(0.5, 10)"]
cuts = [e for e in range(1, EPOCHS) if plateau[e] < plateau[e - 1]]
print(f"  ReduceLROnPlateau halved the lr at epochs {cuts}: after 11 epochs without a new")
print("  best validation loss each time (patience 10)")
result["lrs"] = lrs
result["plateau_cuts"] = cuts

# %% [markdown]
# ## The six schedules
#
# One panel each; the plateau panel also draws the metric it watches.

# %%
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), dpi=80, sharex=True)
    for ax, (name, values) in zip(axes.ravel(), lrs.items()):
        ax.plot(range(EPOCHS), values, color="tab:blue")
        ax.set_title(name, fontsize=10)
        ax.set_ylim(0, LR0 * 1.08)
        ax.grid(alpha=0.3)
    ax = axes[1, 2]  # the plateau panel: also draw the metric it watches
    metric_ax = ax.twinx()
    metric_ax.plot(range(EPOCHS), VAL_LOSS, color="tab:orange", ls="--")
    metric_ax.set_ylabel("scripted val loss", color="tab:orange")
    for ax in axes[:, 0]:
        ax.set_ylabel("learning rate")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    fig.suptitle(f"Learning-rate schedules, base lr {LR0}")
    fig.tight_layout()
    result["schedules_png"] = str(out / "12_schedules.png")
    fig.savefig(result["schedules_png"])
    plt.close(fig)
    show(result["schedules_png"])

# %% [markdown]
# ## Part 2: random search on a validation split
#
# 500 training images split 80/20 with `random_split` (the split repeats with the seed): 400 to
# train on, 100 to compare settings on. The test set is NOT used to choose: a setting picked on
# the test set would make its test accuracy an optimistic guess. Each trial draws
# lr = 10^U(-4, -0.5) and weight decay = 10^U(-8, -4) (log-uniform: every decade equally likely)
# and trains a fresh net from the same initial weights.

# %%
trials = args.trials or (12 if args.quick else 100)
epochs = args.epochs or (15 if args.quick else 50)
train_set, test_set, what = skipped.mnist_splits(sample=True if args.quick else None, flatten=True)
five_hundred = Subset(train_set, range(500))
# 80% to train on, 20% to compare settings on; the split repeats with the seed
fit_set, val_set = random_split(five_hundred, [0.8, 0.2])
val_loader = DataLoader(val_set, batch_size=100)
print(f"\nPart 2: random search, {trials} trials of {epochs} epochs, SGD with batch 100,")
print(f"  784-100x6-10 ReLU MLP, on 500 training images of {what}:")
print(f"  {len(fit_set)} to train on, {len(val_set)} to validate on (random_split).")
print("  The test set is NOT used to choose: a setting picked on the test set would make")
print("  its test accuracy an optimistic guess. It is used once, at the very end.")
print(f"  lr = 10^U{LR_RANGE}, weight decay = 10^U{WEIGHT_DECAY_RANGE} (log-uniform)")

rng = np.random.default_rng(args.seed)  # draws the settings; the nets use zerograd's seed
results = []
for trial in range(trials):
    lr = float(10 ** rng.uniform(*LR_RANGE))
    weight_decay = float(10 ** rng.uniform(*WEIGHT_DECAY_RANGE))
    model = train(args.seed, fit_set, lr, weight_decay, epochs)
    if model is None:
        print(f"  trial {trial + 1}: lr {lr:.2e} diverged (the loss became inf or nan), scored 0")
        val_acc = 0.0
    else:
        val_acc = evaluate(model, val_loader)["accuracy"]
    results.append(
        {
            "trial": trial + 1,
            "val_acc": float(val_acc),
            "lr": lr,
            "weight_decay": weight_decay,
        }
    )

# %% [markdown]
# ## The ranking
#
# The top 5 by validation accuracy. The book's advice: narrow the range around them and search
# again.

# %%
results.sort(key=lambda r: -r["val_acc"])  # best first

print(f"\n  top 5 of {trials} trials (validation accuracy on {len(val_set)} images)")
print(f"  {'rank':>4s} {'trial':>5s} {'val acc':>8s} {'lr':>10s} {'weight decay':>13s}")
for rank, r in enumerate(results[:5], 1):
    print(
        f"  {rank:4d} {r['trial']:5d} {r['val_acc']:8.3f} {r['lr']:10.2e} {r['weight_decay']:13.2e}"
    )
top = results[:5]
low, high = min(r["lr"] for r in top), max(r["lr"] for r in top)
print(f"  the top 5 have lr in [{low:.1e}, {high:.1e}]: the next search would narrow the")
print("  range there (the book's advice), and weight decay this small hardly matters.")
result["trials"] = results

# %% [markdown]
# ## The test set, once
#
# The best setting, trained again on all 500 images, then tested once.

# %%
best = results[0]
model = train(args.seed, five_hundred, best["lr"], best["weight_decay"], epochs)
test_acc = evaluate(model, DataLoader(test_set, batch_size=1000))["accuracy"]
print(f"\n  best setting: lr {best['lr']:.2e}, weight decay {best['weight_decay']:.2e};")
print(f"  trained again on all 500 images, tested once on {len(test_set)} test images:")
print(f"  test accuracy = {test_acc:.4f}")
result["best"] = best
result["test_acc"] = float(test_acc)

# %% [markdown]
# ## The search
#
# Each trial, coloured by its validation accuracy, on the (lr, weight decay) plane; and the
# accuracy against the lr alone.

# %%
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=80)
    lr_values = [r["lr"] for r in results]
    accs = [r["val_acc"] for r in results]
    points = ax1.scatter(
        lr_values,
        [r["weight_decay"] for r in results],
        c=accs,
        cmap="viridis",
        vmin=0,
        vmax=1,
    )
    # the best trial: an outline, so its colour still shows
    ax1.scatter(
        [best["lr"]],
        [best["weight_decay"]],
        marker="o",
        s=200,
        facecolors="none",
        edgecolors="red",
        label="best",
    )
    ax1.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="weight decay")
    ax1.set_title("each trial, coloured by validation accuracy")
    ax1.legend(loc="upper left")
    fig.colorbar(points, ax=ax1, label="validation accuracy")
    ax2.scatter(lr_values, accs, c=accs, cmap="viridis", vmin=0, vmax=1)
    ax2.set(xscale="log", xlabel="learning rate", ylabel="validation accuracy", ylim=(0, 1))
    ax2.set_title("validation accuracy against the lr")
    ax2.grid(alpha=0.3)
    fig.suptitle(f"Random search: {trials} trials of {epochs} epochs on {what}")
    fig.tight_layout()
    result["search_png"] = str(out / "12_search.png")
    fig.savefig(result["search_png"])
    plt.close(fig)
    show(result["search_png"])
    print(f"\nPictures: {result['schedules_png']}, {result['search_png']}")
print(f"Time: {time.perf_counter() - start:.1f} s")

# %%
skipped.report()
