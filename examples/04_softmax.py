# %% [markdown]
# # Lesson 4: softmax and overflow
#
# Softmax turns a vector of scores a into probabilities that sum to 1:
#
#     y_k = exp(a_k) / sum_i exp(a_i)
#
# Written like that it breaks on large scores, and its log breaks on very negative ones. The lesson
# shows both failures and the one-line fixes that `F.softmax` and `F.log_softmax` use. It is
# instant, so `--quick` changes nothing.
#
# Run it as a script with `python examples/04_softmax.py` or `zerograd lesson 04_softmax`
# (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook:
# `zerograd lesson 04_softmax --notebook`.

# %%
from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
import zerograd.functional as F

parser = argparse.ArgumentParser(description="Lesson 4: softmax and overflow.")
parser.add_argument("--quick", action="store_true", help="the same run (it is instant)")
parser.add_argument("--out", default="runs/lessons/04_softmax", help="folder for the PNG")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
f64 = zg.float64  # NumPy's default, as in the book
result = {}


def fmt(values) -> str:
    """Values in the book's notation, e.g. (9.99954600e-01, 4.53978686e-05)."""
    return "(" + ", ".join(f"{v:.8e}" for v in values) + ")"


# %% [markdown]
# ## 1. The naive formula overflows
#
# exp(x) exceeds the largest float64 (1.8e308) once x > 709.78 (88.72 in float32), so on
# a = (1010, 1000, 990) every exp is inf and inf / inf is nan. NumPy does not raise: it warns
# (`RuntimeWarning: overflow encountered in exp`) and carries on with inf. The cell catches the
# warnings to print them with the rest.

# %%
a = zg.tensor([1010.0, 1000.0, 990.0], dtype=f64)
# NumPy does not raise on overflow, it warns and goes on with inf; catch the warnings to show
# them as part of the output
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    exp_a = zg.exp(a)  # each exp overflows to inf
    naive = exp_a / exp_a.sum()  # the formula on paper: inf / inf is nan
messages = list(dict.fromkeys(str(w.message) for w in caught))  # in order, once each
largest = np.finfo(np.float64).max
print(f"1. Naive: exp(a) / sum(exp(a)) on a = {a.tolist()}")
print(f"   exp(x) is too big for float64 once x > ln({largest:.3e}) = {math.log(largest):.2f}")
for message in messages:
    print(f"   NumPy warns: RuntimeWarning: {message}")
print(f"   exp(a)   = {exp_a.tolist()}")
print(f"   softmax  = {naive.tolist()}  <- inf / inf")
result["naive"] = naive.tolist()
result["warnings"] = messages


# %% [markdown]
# ## 2. Subtract the max first
#
# The fix costs nothing: for any constant c,
#
#     exp(a_k - c) / sum_i exp(a_i - c) = exp(-c) exp(a_k) / (exp(-c) sum_i exp(a_i)) = y_k
#
# and with c = max(a) the largest exponent is exp(0) = 1, so nothing overflows. Look at the sum
# (1) and at the difference from `F.softmax`, which computes exactly this.

# %%
# exp(a - c) / sum exp(a - c) = exp(-c) exp(a) / (exp(-c) sum exp(a)): any c gives the same y;
# c = max(a) makes the largest exponent exp(0) = 1, so nothing overflows
c = a.max()
e = zg.exp(a - c)
stable = e / e.sum()
lib = F.softmax(a, dim=-1)
print(f"\n2. Stable: c = max(a) = {c.item():.0f}, exp(a - c) / sum(exp(a - c))")
print(f"   a - c     = {(a - c).tolist()}")
print(f"   softmax   = {fmt(stable.tolist())}, sum = {stable.sum().item():.10f}")
print(f"   F.softmax = {fmt(lib.tolist())}")
print(f"   max |stable - F.softmax| = {(stable - lib).abs().max().item():.1e}")
result["stable"], result["softmax"] = stable.tolist(), lib.tolist()
result["softmax_sum"] = stable.sum().item()


# %% [markdown]
# ## 3. The log of a softmax
#
# Cross-entropy needs log y. On b = (0, -10, -1000), exp(-1000) underflows to 0, so
# log(softmax(b)) has a -inf. `F.log_softmax` never forms the probabilities:
#
#     log y_k = (b_k - c) - log(sum_i exp(b_i - c))
#
# every term finite, giving -1000.0000454 where the naive route gave -inf. That is why
# `F.cross_entropy` takes the raw scores (logits), not probabilities.

# %%
# cross-entropy needs log(y); once a probability underflows to 0, log gives -inf. log_softmax
# never forms y: log y_k = (a_k - c) - log(sum exp(a - c)), every term finite.
b = zg.tensor([0.0, -10.0, -1000.0], dtype=f64)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    log_of_softmax = zg.log(F.softmax(b, dim=-1))
log_sm = F.log_softmax(b, dim=-1)
print(f"\n3. Very negative scores, b = {b.tolist()}")
print(f"   softmax(b)      = {fmt(F.softmax(b, dim=-1).tolist())}  <- exp(-1000) underflows")
for message in dict.fromkeys(str(w.message) for w in caught):
    print(f"   NumPy warns: RuntimeWarning: {message}")
print(f"   log(softmax(b)) = {fmt(log_of_softmax.tolist())}")
print(f"   F.log_softmax   = {fmt(log_sm.tolist())}  <- finite")
print("   (this is why F.cross_entropy takes the scores, not the probabilities)")
result["log_of_softmax"], result["log_softmax"] = (
    log_of_softmax.tolist(),
    log_sm.tolist(),
)


# %% [markdown]
# ## The picture
#
# Left, the three probabilities of a on a log scale (on a linear axis the two small bars would not
# show at all); right, the log-probabilities of b, the naive route's -inf marked.

# %%
if plt is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
    labels = [f"a = {v:.0f}" for v in a.tolist()]
    bars = ax1.bar(labels, lib.tolist(), color=["#c4501b", "#1f4e9a", "#4d9a3f"])
    ax1.set_yscale("log")  # on a linear axis the two small bars would not show at all
    ax1.bar_label(bars, labels=[f"{v:.3g}" for v in lib.tolist()], fontsize=8)
    ax1.set(
        title="F.softmax(a): probabilities (log scale)",
        ylabel="probability",
        ylim=(1e-10, 5),
    )
    labels = [f"b = {v:.0f}" for v in b.tolist()]
    x = np.arange(3)
    ax2.bar(x - 0.2, log_sm.tolist(), width=0.4, label="F.log_softmax", color="#1f4e9a")
    finite = [v if math.isfinite(v) else 0.0 for v in log_of_softmax.tolist()]
    ax2.bar(x + 0.2, finite, width=0.4, label="log(softmax)", color="#c4501b")
    for i, v in enumerate(log_of_softmax.tolist()):
        if not math.isfinite(v):
            ax2.text(
                i + 0.2,
                -300,
                "-inf\n(no bar)",
                ha="center",
                fontsize=9,
                color="#c4501b",
            )
    ax2.set_yscale("symlog")  # shows -1e-4 and -1000 on one axis
    ax2.set_xticks(x, labels)
    ax2.set(title="log-probabilities of b", ylabel="log y (symlog scale)")
    ax2.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    png = out / "softmax.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)
    show(png)
    print(f"\nPicture: {png}")
    result["pngs"] = [str(png)]

# %%
skipped.report()
