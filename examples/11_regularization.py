# %% [markdown]
# # Lesson 11: overfitting, weight decay, dropout and batch norm
#
# A network with many parameters and few examples learns the examples by heart. Three experiments
# from the book's chapter 6: a 7-layer ReLU MLP trained on only 300 MNIST images *overfits*;
# weight decay and dropout each narrow the gap between training and test accuracy; and batch norm
# lets a 6-layer MLP learn faster, even from initial weights too small for the plain net to learn
# at all.
#
# The book's settings are the default: 201 epochs on 300 images of the full MNIST, tested on all
# 10,000 test images, and 20 epochs for batch norm. `--quick` runs 100 and 10 epochs on the
# 6,000-image sample shipped with zerograd (tested on its 1,000 test images).
#
# Run it as a script with `python examples/11_regularization.py` or `zerograd lesson
# 11_regularization` (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook:
# `zerograd lesson 11_regularization --notebook`.

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
from zerograd.data import DataLoader, Subset
from zerograd.train import evaluate

parser = argparse.ArgumentParser(
    description="Lesson 11: overfitting, weight decay, dropout and batch norm."
)
parser.add_argument("--quick", action="store_true", help="fewer epochs, on the sample")
parser.add_argument("--out", default="runs/lessons/11_regularization", help="folder for PNGs")
parser.add_argument("--seed", type=int, default=0, help="seed for weights, batches, dropout")
parser.add_argument("--epochs", type=int, default=None, help="part 1 epochs (201; quick 100)")
parser.add_argument("--bn-epochs", type=int, default=None, help="part 2 epochs (20; quick 10)")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (matplotlib, the MNIST files): one line each
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
zg.manual_seed(args.seed)
start = time.perf_counter()
result = {}

train, test, what = skipped.mnist_splits(sample=True if args.quick else None, flatten=True)
# The test set: all of it (10,000 images, or the sample's 1,000).
test_loader = DataLoader(test, batch_size=1000)

# %% [markdown]
# ## The models, the optimizer and one epoch
#
# `SETTINGS` are part 1's three runs (the book's lambda 0.1 and dropout ratio 0.2) and
# `INIT_SCALES` part 2's initial weight scales: He (std √(2 / n_in)), then N(0, 0.1²) and
# N(0, 0.01²). `make_mlp` builds the ReLU MLP, with `nn.Dropout` after every hidden ReLU or
# `nn.BatchNorm1d` between each hidden `Linear` and its ReLU; `sgd` decays only the weight
# matrices, not the biases, with two parameter groups, as the book does:
# `optim.SGD([{"params": weights, "weight_decay": 0.1}, {"params": biases}], lr=0.01)`.
# `check_weight_decay_is_the_l2_penalty` takes one step both ways (see part 1).

# %%
# The three settings of part 1: the book's lambda 0.1 and dropout ratio 0.2.
SETTINGS = {
    "no regularisation": dict(weight_decay=0.0, dropout=0.0),
    "weight decay 0.1": dict(weight_decay=0.1, dropout=0.0),
    "dropout 0.2": dict(weight_decay=0.0, dropout=0.2),
}

# Part 2's initial weight scales: He (std sqrt(2 / n_in)), then N(0, 0.1^2) and N(0, 0.01^2).
INIT_SCALES = ["He", 0.1, 0.01]


def make_mlp(hidden_layers: int, dropout=0.0, batch_norm=False, init="He") -> nn.Sequential:
    """784 -> 100 x hidden_layers -> 10: Linear [BatchNorm1d] ReLU [Dropout] per hidden layer.

    Weights from He init (the book's 'relu' init) or N(0, init^2); every bias 0.
    """
    sizes = [784] + [100] * hidden_layers + [10]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        if init == "He":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        else:
            nn.init.normal_(linear.weight, mean=0.0, std=init)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i == hidden_layers:
            break  # the output layer gives the logits: no ReLU, norm or dropout after it
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))  # normalise before the ReLU, as the paper
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def sgd(model, lr: float, weight_decay: float = 0.0) -> optim.SGD:
    """SGD with weight decay on the weights only (the book's penalty skips the biases).

    Two parameter groups: the weight matrices with ``weight_decay``, the rest (biases, batch
    norm's gamma and beta) without.
    """
    named = list(model.named_parameters())
    weights = [p for name, p in named if name.endswith("weight") and p.ndim == 2]
    others = [p for name, p in named if not (name.endswith("weight") and p.ndim == 2)]
    groups = [{"params": weights, "weight_decay": weight_decay}, {"params": others}]
    return optim.SGD(groups, lr=lr)


def train_one_epoch(model, loader, opt) -> None:
    model.train()  # dropout drops, batch norm uses the batch's statistics
    for x, t in loader:
        loss = F.cross_entropy(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()


def check_weight_decay_is_the_l2_penalty(seed: int, lam: float) -> float:
    """One SGD step two ways from the same weights; the largest difference between them.

    (a) the book: loss + 0.5 * lam * sum(W^2) over the weight matrices, plain SGD;
    (b) the library: the plain loss, ``SGD(weight_decay=lam)`` on the weight matrices.
    """
    x = zg.randn(100, 784)
    t = zg.randint(0, 10, (100,))
    results = []
    for by_hand in (True, False):
        zg.manual_seed(seed)  # the same initial weights for both
        model = make_mlp(2)
        loss = F.cross_entropy(model(x), t)
        if by_hand:
            weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
            loss = loss + 0.5 * lam * sum((W * W).sum() for W in weights)
            opt = sgd(model, lr=0.01)
        else:
            opt = sgd(model, lr=0.01, weight_decay=lam)
        opt.zero_grad()
        loss.backward()
        opt.step()
        results.append([p.detach().numpy().copy() for p in model.parameters()])
    return max(float(np.abs(a - b).max()) for a, b in zip(*results))


# %% [markdown]
# ## Part 1: overfitting, and two cures
#
# A 7-layer ReLU MLP (784-100x6-10, He init, biases 0), SGD (lr 0.01, batch 100), on only the first
# 300 training images, its accuracy measured after every epoch on those 300 and on the test set.
# It gets every training image right and far fewer test images. Two cures, each on its own, from
# the same initial weights and batches:
#
# - **Weight decay** (L2) adds a penalty on large weights to the loss:
#
#       L = L_data + (lambda / 2) * sum of ||W||^2,    dL/dW = dL_data/dW + lambda * W
#
#   `optim.SGD(..., weight_decay=lambda)` does the second line, adding `lambda * W` to each
#   gradient before the step (PyTorch's rule). For SGD that *is* the penalty (for Adam it is not,
#   which is why AdamW exists); the cell checks it with one step each way, from the same weights.
# - **Dropout** (`nn.Dropout(0.2)`) zeroes each activation with probability p while training and
#   scales the survivors by 1/(1-p): y = x * m / (1 - p), m ~ Bernoulli(1 - p). In `model.eval()`
#   it is the identity; training accuracy is measured in eval mode, every unit present.
#
# Look at the gap column: both cures narrow it, mostly by fitting the 300 images less well.

# %%
epochs = args.epochs or (100 if args.quick else 201)
small = Subset(train, range(300))  # only 300 training images: easy to memorise
print(f"Part 1: a 7-layer MLP (784-100x6-10) on 300 training images of {what}")
print(f"  {epochs} epochs of SGD (lr 0.01, batch 100), {len(test)} test images")

# weight decay is the L2 penalty: the same step, computed both ways
diff = check_weight_decay_is_the_l2_penalty(args.seed, 0.1)
print("  SGD(weight_decay=0.1) vs loss + 0.5 * 0.1 * sum(W^2): one step, largest difference")
print(f"  between the weights = {diff:.1e}")
result["weight_decay_step_difference"] = diff

curves = {}
print(f"\n  {'setting':18s} {'train acc':>9s} {'test acc':>9s} {'gap':>6s}")
for name, setting in SETTINGS.items():
    zg.manual_seed(args.seed)  # the same initial weights and batches for every setting
    model = make_mlp(6, dropout=setting["dropout"])
    opt = sgd(model, lr=0.01, weight_decay=setting["weight_decay"])
    loader = DataLoader(small, batch_size=100, shuffle=True)
    train_acc, test_acc = [], []
    for _ in range(epochs):
        train_one_epoch(model, loader, opt)
        # accuracy in eval mode (no dropout) on all 300 training images and the test set
        train_acc.append(evaluate(model, DataLoader(small, batch_size=300))["accuracy"])
        test_acc.append(evaluate(model, test_loader)["accuracy"])
    curves[name] = (train_acc, test_acc)
    gap = train_acc[-1] - test_acc[-1]
    print(f"  {name:18s} {train_acc[-1]:9.4f} {test_acc[-1]:9.4f} {gap:6.3f}")
    key = name.split()[0]  # "no", "weight", "dropout"
    result[f"train_acc_{key}"] = float(train_acc[-1])
    result[f"test_acc_{key}"] = float(test_acc[-1])

# %% [markdown]
# ## The overfitting curves
#
# Training and test accuracy per epoch, one panel per setting.

# %%
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), dpi=80, sharey=True)
    for ax, (name, (train_acc, test_acc)) in zip(axes, curves.items()):
        x = np.arange(1, epochs + 1)
        ax.plot(x, train_acc, label="train (300 images)")
        ax.plot(x, test_acc, label=f"test ({len(test)} images)")
        ax.set(title=name, xlabel="epoch", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="lower right")
    fig.suptitle(f"Overfitting 300 images of {what}: 784-100x6-10 ReLU MLP, SGD lr 0.01")
    fig.tight_layout()
    result["overfitting_png"] = str(out / "11_overfitting.png")
    fig.savefig(result["overfitting_png"])
    plt.close(fig)
    show(result["overfitting_png"])

# %% [markdown]
# ## Part 2: batch norm
#
# Per feature, over the N examples of a batch:
#
#     mu = mean(x),   var = mean((x - mu)^2),
#     xhat = (x - mu) / sqrt(var + eps),   y = gamma xhat + beta
#
# with gamma (`weight`, init 1) and beta (`bias`, init 0) learned. While training it also keeps
# running averages (momentum 0.1), and `model.eval()` normalises with those instead, so one example
# at a time works. `nn.BatchNorm1d` matches `torch.nn.BatchNorm1d`, state_dict keys included.
#
# A 6-layer MLP (784-100x5-10) on 1,000 images, with and without batch norm, from three initial
# weight scales. Look at the smallest one: the plain net's signal vanishes and it answers one
# class, while with batch norm it learns. Batch norm makes the output independent of the weights'
# scale: multiply W by a and the output stays, while the gradient with respect to W shrinks by
# 1/a, so small weights take larger steps relative to their size.

# %%
bn_epochs = args.bn_epochs or (10 if args.quick else 20)
thousand = Subset(train, range(1000))
iterations = bn_epochs * 10  # 1,000 images, batch 100: 10 iterations per epoch
print("\nPart 2: batch norm. A 6-layer MLP (784-100x5-10) on 1,000 training images,")
print(f"  {iterations} iterations of SGD (lr 0.01, batch 100), with and without BatchNorm1d")
print("  after every hidden linear layer; training accuracy (all 1,000 images, eval mode)")
print(f"\n  {'initial weights':16s} {'':>8s} {'without BN':>10s} {'with BN':>8s}")
bn_curves = {}
for init in INIT_SCALES:
    label = "He" if init == "He" else f"N(0, {init}^2)"
    accs = {}
    for batch_norm in (False, True):
        zg.manual_seed(args.seed)
        model = make_mlp(5, batch_norm=batch_norm, init=init)
        opt = optim.SGD(model.parameters(), lr=0.01)
        loader = DataLoader(thousand, batch_size=100, shuffle=True)
        accs[batch_norm] = []
        for _ in range(bn_epochs):
            train_one_epoch(model, loader, opt)
            accs[batch_norm].append(
                evaluate(model, DataLoader(thousand, batch_size=1000))["accuracy"]
            )
    bn_curves[label] = accs
    half = max(bn_epochs // 2, 1)
    for e in sorted({max(bn_epochs // 4, 1), half, bn_epochs}):
        row = f"  {label if e == max(bn_epochs // 4, 1) else '':16s} {f'{e * 10} it':>8s}"
        print(f"{row} {accs[False][e - 1]:10.4f} {accs[True][e - 1]:8.4f}")
    key = "he" if init == "He" else f"std{init}"
    result[f"bn_acc_{key}"] = float(accs[True][-1])
    result[f"plain_acc_{key}"] = float(accs[False][-1])
    result[f"bn_half_{key}"] = float(accs[True][half - 1])
    result[f"plain_half_{key}"] = float(accs[False][half - 1])

# %% [markdown]
# ## The batch-norm curves
#
# Training accuracy per iteration, with and without batch norm, one panel per initial scale.

# %%
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig, axes = plt.subplots(1, len(bn_curves), figsize=(13, 4), dpi=80, sharey=True)
    for ax, (label, accs) in zip(axes, bn_curves.items()):
        x = np.arange(1, bn_epochs + 1) * 10
        ax.plot(x, accs[True], "o-", ms=3, label="with BatchNorm1d")
        ax.plot(x, accs[False], "s--", ms=3, label="without")
        ax.set(title=f"initial weights {label}", xlabel="iteration", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("training accuracy")
    axes[0].legend(loc="upper left")
    fig.suptitle(f"Batch norm: 784-100x5-10 ReLU MLP on 1,000 images of {what}, SGD lr 0.01")
    fig.tight_layout()
    result["batch_norm_png"] = str(out / "11_batch_norm.png")
    fig.savefig(result["batch_norm_png"])
    plt.close(fig)
    show(result["batch_norm_png"])
    print(f"\nPictures: {result['overfitting_png']}, {result['batch_norm_png']}")
print(f"Time: {time.perf_counter() - start:.1f} s")

# %%
skipped.report()
