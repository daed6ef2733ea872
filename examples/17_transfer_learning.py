# %% [markdown]
# # Lesson 17: transfer learning: freeze a pretrained convolutional base, train a new head
#
# A network trained on one task has learned filters that are useful on others: the first
# convolutions find edges and strokes, later ones parts of shapes. With few labels for a new task it
# can pay to keep them. The recipe the course shows with Keras and VGG16 is, in zerograd:
#
# - `VGG16(weights="imagenet", include_top=False)`: the layers before `Flatten` of a pretrained
#   zoo model, `base, head = split_base_head(models.pretrained("deep-cnn-mnist"))`;
# - `layer.trainable = False` for the base's layers: `base.freeze()`;
# - new `Flatten`, `Dense` layers on top: a new head, `models.create(name, num_classes=k)[cut:]`;
# - `compile` on the trainable weights:
#   `optim.Adam([p for p in model.parameters() if p.requires_grad])`;
# - unfreeze and fine-tune with a low learning rate: parameter groups, the base at lr 1e-4.
#
# The default uses `DeepConvNet` (six 3 x 3 convolutions) and 10, 100 and 1,000 labels per class;
# `--quick` uses `SimpleConvNet`, 10 and 100 labels and 30 steps per run. Part 3 needs the
# Fashion-MNIST files under `ZEROGRAD_DATA` and is skipped, with a line saying so, without them.
#
# Run it as a script with `python examples/17_transfer_learning.py` or `zerograd lesson
# 17_transfer_learning` (`--quick` for the short run, `--out DIR` for the pictures), or as a
# notebook: `zerograd lesson 17_transfer_learning --notebook`.

# %%
from __future__ import annotations

import argparse
import math
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
from zerograd import models, nn, optim
from zerograd.data import DataLoader, TensorDataset
from zerograd.train import evaluate, fit

parser = argparse.ArgumentParser(
    description="Lesson 17: transfer learning: freeze a pretrained convolutional base, "
    "train a new head."
)
parser.add_argument("--quick", action="store_true", help="SimpleConvNet, 10/100 labels, 30 steps")
parser.add_argument("--out", default="runs/lessons/17_transfer_learning", help="PNG folder")
parser.add_argument("--seed", type=int, default=0, help="seed for labels, weights, batches")
parser.add_argument(
    "--base",
    choices=["deep-cnn", "simple-cnn"],
    default=None,
    help="the network (deep-cnn; quick: simple-cnn)",
)
parser.add_argument("--labels", default=None, help="labels per class (10,100,1000; quick 10,100)")
parser.add_argument("--steps", type=int, default=None, help="steps per run (300; quick 30)")
parser.add_argument("--batch-size", type=int, default=50, help="default 50")
parser.add_argument(
    "--pretrain-epochs",
    type=int,
    default=None,
    help="epochs on digits 0-4 (2; quick 1)",
)
args = parse_args(parser)
base_name = args.base or ("simple-cnn" if args.quick else "deep-cnn")
labels = [int(v) for v in (args.labels or ("10,100" if args.quick else "10,100,1000")).split(",")]
args.steps = args.steps or (30 if args.quick else 300)
pretrain_epochs = args.pretrain_epochs or (1 if args.quick else 2)
skipped = Skipped()  # what this machine lacks (matplotlib, the data files): one line each
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
result = {"base": base_name}

# %% [markdown]
# ## Base and head, the three ways to train, and the comparison
#
# `split_base_head` cuts a zoo model before its `Flatten`: the base is the convolutions, the head
# the rest. `transfer_model` joins a base and a freshly initialised head as
# `nn.Sequential(OrderedDict(base=base, head=head))`, so `model.base.freeze()` reads as what it
# does. `build` makes one of the three `METHODS`, with the same labels, head initial weights,
# batches (50) and number of steps, Adam lr 1e-3:
#
# - *frozen*: the pretrained base frozen, a new head trained;
# - *fine-tune*: the pretrained base and a new head, all trained, the base at lr 1e-4 (a parameter
#   group) so the pretrained filters move gently;
# - *scratch*: the same network with random (He) weights, all trained.
#
# `compare` runs the three for every number of labels per class (drawn at random by `few_labels`)
# and tests each once, at the end: nothing is chosen by the test accuracy.

# %%
METHODS = {
    "frozen": "frozen base + new head",
    "fine-tune": "fine-tune all (base lr / 10)",
    "scratch": "from scratch",
}


def split_base_head(model: nn.Sequential):
    """(base, head) of a zoo CNN: the layers before ``Flatten`` and the rest, sharing weights."""
    cut = next(i for i, layer in enumerate(model) if isinstance(layer, nn.Flatten))
    return model[:cut], model[cut:]


def transfer_model(base: nn.Sequential, base_name: str, num_classes: int) -> nn.Sequential:
    """``base`` followed by a new, freshly initialised head with ``num_classes`` outputs."""
    _, head = split_base_head(models.create(base_name, num_classes=num_classes))
    return nn.Sequential(OrderedDict(base=base, head=head))


def show_freezing(seed: int) -> dict:
    """A small model, its base frozen: gradients, an AdamW step, and parameter groups."""
    zg.manual_seed(seed)
    model = nn.Sequential(
        OrderedDict(
            base=nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2)),
            head=nn.Sequential(nn.Flatten(), nn.Linear(4 * 13 * 13, 10)),
        )
    )
    model.base.freeze()
    frozen_before = {n: p.data.copy() for n, p in model.base.named_parameters()}
    head_before = {n: p.data.copy() for n, p in model.head.named_parameters()}
    opt = optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    x, t = zg.randn(8, 1, 28, 28), zg.randint(0, 10, (8,))
    loss = nn.CrossEntropyLoss()(model(x), t)
    loss.backward()
    params = dict(model.named_parameters())
    grads = {n: p.grad for n, p in params.items()}
    opt.step()
    frozen_change = max(
        float(np.abs(p.data - frozen_before[n]).max()) for n, p in model.base.named_parameters()
    )
    head_change = min(
        float(np.abs(p.data - head_before[n]).max()) for n, p in model.head.named_parameters()
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    print("  model: base = Conv2d(1, 4, 3) - ReLU - MaxPool2d(2), head = Flatten - Linear(676, 10)")
    print(f"  model.base.freeze(): {frozen} parameters frozen, {trainable} trainable")
    print(zg.summary(model, (1, 1, 28, 28)))  # the Trainable column says which layers are frozen
    for name, g in grads.items():
        print(
            f"    {name:16s} requires_grad={str(params[name].requires_grad):5s} "
            f"grad after backward: {'None' if g is None else 'shape ' + str(g.shape)}"
        )
    print(
        f"  one AdamW step (weight_decay=0.1): frozen weights moved by at most {frozen_change:.1e};"
        f" every head tensor moved (each by at least {head_change:.1e} somewhere)"
    )

    model.base.unfreeze()
    groups = optim.Adam(
        [
            {"params": model.base.parameters(), "lr": 1e-4},
            {"params": model.head.parameters()},
        ],
        lr=1e-3,
    )
    lrs = [g["lr"] for g in groups.param_groups]
    print(f"  fine-tuning instead: parameter groups with learning rates {lrs} (base, head)")
    return {
        "frozen_grads_none": all(grads[n] is None for n in grads if n.startswith("base.")),
        "head_grads_set": all(grads[n] is not None for n in grads if n.startswith("head.")),
        "frozen_change": frozen_change,
        "head_change": head_change,
        "group_lrs": lrs,
    }


def as_arrays(dataset, classes) -> tuple:
    """The images (N, 1, 28, 28) in [0, 1] and labels 0.. of the given classes, in file order."""
    keep = np.isin(dataset.targets, classes)
    x = (dataset.data[keep] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    t = np.searchsorted(np.asarray(classes), dataset.targets[keep])  # class -> 0, 1, ...
    return x, t.astype(np.int64)


def few_labels(x, t, per_class: int, seed: int) -> tuple:
    """``per_class`` random examples of each class (seeded): the few labels we pretend to have."""
    rng = np.random.default_rng(seed)
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(t == c), per_class, replace=False) for c in np.unique(t)]
    )
    return x[idx], t[idx]


def train_model(model, optimizer, x, t, steps: int, batch_size: int):
    """About ``steps`` optimizer steps of ``fit`` over (x, t); returns the History."""
    loader = DataLoader(TensorDataset(x, t), batch_size=min(batch_size, len(x)), shuffle=True)
    epochs = max(1, round(steps / len(loader)))
    return fit(model, nn.CrossEntropyLoss(), optimizer, loader, epochs=epochs, progress=False)


def build(method: str, pretrained_base, base_name: str, num_classes: int):
    """The model and optimizer of one method (the base is a fresh copy of the pretrained one)."""
    if method == "scratch":
        model = models.create(base_name, num_classes=num_classes)
        return model, optim.Adam(model.parameters(), lr=1e-3)
    model = transfer_model(pretrained_base(), base_name, num_classes)
    if method == "frozen":
        model.base.freeze()
        trainable = [p for p in model.parameters() if p.requires_grad]
        return model, optim.Adam(trainable, lr=1e-3)
    return (
        model,
        optim.Adam(  # fine-tune: every weight, the pretrained ones 10x more gently
            [
                {"params": model.base.parameters(), "lr": 1e-4},
                {"params": model.head.parameters()},
            ],
            lr=1e-3,
        ),
    )


def compare(task, pretrained_base, base_name, train_xy, test_xy, labels, args) -> dict:
    """Accuracy of every method for every number of labels per class: {n: {method: acc}}."""
    num_classes = len(np.unique(train_xy[1]))
    test_loader = DataLoader(TensorDataset(*test_xy), batch_size=500)
    table, losses = {}, {}
    for n in labels:
        x, t = few_labels(*train_xy, n, args.seed)
        table[n] = {}
        for method in METHODS:
            zg.manual_seed(args.seed)  # the same new head and batch order for every method
            model, opt = build(method, pretrained_base, base_name, num_classes)
            start = time.perf_counter()
            history = train_model(model, opt, x, t, args.steps, args.batch_size)
            acc = evaluate(model, test_loader)["accuracy"]
            table[n][method] = acc
            steps_per_epoch = math.ceil(len(x) / min(args.batch_size, len(x)))
            losses[(n, method)] = (
                np.asarray(history["epoch"]) * steps_per_epoch,
                history["loss"],
            )
            print(
                f"  {task}: {n:5d} labels/class, {METHODS[method]:30s} test accuracy "
                f"{acc * 100:6.2f}%  ({time.perf_counter() - start:.0f} s)"
            )
    return {"table": table, "losses": losses}


def print_table(title: str, table: dict) -> None:
    print(f"\n  {title}: test accuracy (%); " + "; ".join(f"{m}: {d}" for m, d in METHODS.items()))
    print(f"  {'labels/class':>12s}" + "".join(f"{m:>11s}" for m in METHODS))
    for n, row in table.items():
        print(f"  {n:12d}" + "".join(f"{row[m] * 100:11.2f}" for m in METHODS))


# %% [markdown]
# ## Part 1: what freeze() does
#
# `freeze()` turns `requires_grad` off for every parameter of the module. An op whose inputs need no
# gradient records no graph, so backward never reaches the base: after `loss.backward()` its
# parameters' `.grad` is `None`, the head's are set, and an optimizer step (even AdamW's decoupled
# weight decay) leaves the frozen weights exactly as they were. `zg.summary` shows it per layer.
# One thing it does not do: a frozen `BatchNorm` still updates its running statistics in training
# mode (as in PyTorch); put the base in `eval()` too if it has batch norm.

# %%
print("Part 1: what freeze() does")
result.update(show_freezing(args.seed))

# %% [markdown]
# ## Part 2: digits 0-4 -> digits 5-9
#
# First the network is trained on the images of digits 0-4 (the source task); its state is kept,
# and `digits_base` rebuilds its base for each run.

# %%
train_set, test_set, what = skipped.mnist_splits(sample=True if args.quick else None)
first, second = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
x04, t04 = as_arrays(train_set, first)
test04 = as_arrays(test_set, first)
print(f"\nPart 2: {what}, digits 0-4 -> digits 5-9, network {base_name}")
print(
    f"  pretraining on the {len(x04):,} training images of digits 0-4, {pretrain_epochs} "
    "epoch(s), Adam lr 1e-3"
)
zg.manual_seed(args.seed)
source = models.create(base_name, num_classes=5)
loader = DataLoader(TensorDataset(x04, t04), batch_size=100, shuffle=True)
start = time.perf_counter()
fit(
    source,
    nn.CrossEntropyLoss(),
    optim.Adam(source.parameters(), lr=1e-3),
    loader,
    epochs=pretrain_epochs,
    progress=False,
)
source_acc = evaluate(source, DataLoader(TensorDataset(*test04), batch_size=500))["accuracy"]
result["source_accuracy"] = source_acc
print(f"  digits 0-4 test accuracy {source_acc * 100:.2f}% ({time.perf_counter() - start:.0f} s)")
source_state = source.state_dict()


def digits_base():
    model = models.create(base_name, num_classes=5)
    model.load_state_dict(source_state)
    return split_base_head(model)[0]


# %% [markdown]
# ## Part 2: the three ways on digits 5-9
#
# With 10, 100 (and 1,000) labels per class drawn from the training images of 5-9, tested on all
# their test images. Look at the smallest number of labels: that is where the pretrained filters
# help most.

# %%
digits = compare(
    "5-9",
    digits_base,
    base_name,
    as_arrays(train_set, second),
    as_arrays(test_set, second),
    labels,
    args,
)
print_table("Digits 0-4 -> 5-9", digits["table"])
result["digits"] = digits["table"]
runs = [("Digits 0-4 -> digits 5-9", digits)]

# %% [markdown]
# ## Part 3: MNIST -> Fashion-MNIST
#
# The zoo's weights trained on all ten digits, transferred to Fashion-MNIST's ten kinds of
# clothes: a farther jump than 0-4 -> 5-9.

# %%
fashion_splits = skipped.fashion_mnist("part 3, MNIST -> Fashion-MNIST")
if fashion_splits is not None:
    fashion_train, fashion_test = fashion_splits
    print(f"\nPart 3: MNIST -> Fashion-MNIST, the zoo's {base_name}-mnist weights")
    info = models.pretrained_info(f"{base_name}-mnist")
    print(
        f"  base: {info['model']} trained on all of MNIST, test accuracy "
        f"{float(info['test_accuracy']) * 100:.2f}%"
    )
    all_classes = list(range(10))
    test_xy = as_arrays(fashion_test, all_classes)
    if args.quick:  # 2,000 of the 10,000 test images
        test_xy = (test_xy[0][:2000], test_xy[1][:2000])
    fashion = compare(
        "Fashion",
        lambda: split_base_head(models.pretrained(f"{base_name}-mnist"))[0],
        base_name,
        as_arrays(fashion_train, all_classes),
        test_xy,
        labels,
        args,
    )
    print_table("MNIST -> Fashion-MNIST", fashion["table"])
    result["fashion"] = fashion["table"]
    runs.append(("MNIST -> Fashion-MNIST", fashion))

# %% [markdown]
# ## The picture
#
# Test accuracy against labels per class for each way (top), and the training loss for the middle
# number of labels (bottom).

# %%
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig, axes = plt.subplots(2, len(runs), figsize=(6 * len(runs), 8), squeeze=False)
    middle = labels[len(labels) // 2]
    for col, (title, run) in enumerate(runs):
        ax = axes[0, col]
        for method, label in METHODS.items():
            ax.plot(
                labels,
                [run["table"][n][method] * 100 for n in labels],
                marker="o",
                label=label,
            )
        ax.set(
            xscale="log",
            xlabel="labels per class",
            ylabel="test accuracy (%)",
            title=title,
        )
        ax.grid(alpha=0.3)
        ax.legend()
        ax = axes[1, col]
        for method, label in METHODS.items():
            steps, loss = run["losses"][(middle, method)]
            ax.plot(steps, loss, label=label)
        ax.set(
            xlabel="step",
            ylabel="training loss",
            yscale="log",
            title=f"{title}: training loss, {middle} labels/class",
        )
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = out / "17_transfer_learning.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    show(path)
    result["png"] = str(path)
    print(f"\nWrote {path}")

# %%
skipped.report()
