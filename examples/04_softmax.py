"""Lesson 4: softmax and overflow.

Softmax turns scores into probabilities: y_k = exp(a_k) / sum_i exp(a_i). Written that way it
breaks on large scores: exp(1010) is too big for a float, inf / inf is nan. Subtracting the largest
score first changes nothing on paper (the factor exp(-max) cancels) and keeps every exp in [0, 1];
``F.softmax`` does exactly that. The same care matters for the log: log(softmax(a)) is -inf once a
probability underflows to 0, while ``F.log_softmax`` computes a - max - log(sum exp(a - max))
directly and stays finite. Run it with ``python examples/04_softmax.py`` or
``zerograd lesson 04_softmax`` (``--out DIR`` for the bar chart; ``--quick`` is accepted and
changes nothing, the lesson is instant).
"""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped

import zerograd as zg
import zerograd.functional as F


def fmt(values) -> str:
    """Values in the book's notation, e.g. (9.99954600e-01, 4.53978686e-05)."""
    return "(" + ", ".join(f"{v:.8e}" for v in values) + ")"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same run (it is instant)")
    parser.add_argument("--out", default="runs/lessons/04_softmax", help="folder for the PNG")
    args = parser.parse_args(argv)
    skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
    plt = skipped.pyplot()  # None without matplotlib: the numbers still print
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    f64 = zg.float64  # NumPy's default, as in the book
    result = {}

    # --- 1. the naive formula overflows ---------------------------------------------------------
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

    # --- 2. subtract the max first --------------------------------------------------------------
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

    # --- 3. the log of a softmax ----------------------------------------------------------------
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
    result["log_of_softmax"], result["log_softmax"] = log_of_softmax.tolist(), log_sm.tolist()

    # --- picture (matplotlib, the plot extra) ---------------------------------------------------
    if plt is not None:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
        labels = [f"a = {v:.0f}" for v in a.tolist()]
        bars = ax1.bar(labels, lib.tolist(), color=["#c4501b", "#1f4e9a", "#4d9a3f"])
        ax1.set_yscale("log")  # on a linear axis the two small bars would not show at all
        ax1.bar_label(bars, labels=[f"{v:.3g}" for v in lib.tolist()], fontsize=8)
        ax1.set(
            title="F.softmax(a): probabilities (log scale)", ylabel="probability", ylim=(1e-10, 5)
        )
        labels = [f"b = {v:.0f}" for v in b.tolist()]
        x = np.arange(3)
        ax2.bar(x - 0.2, log_sm.tolist(), width=0.4, label="F.log_softmax", color="#1f4e9a")
        finite = [v if math.isfinite(v) else 0.0 for v in log_of_softmax.tolist()]
        ax2.bar(x + 0.2, finite, width=0.4, label="log(softmax)", color="#c4501b")
        for i, v in enumerate(log_of_softmax.tolist()):
            if not math.isfinite(v):
                ax2.text(i + 0.2, -300, "-inf\n(no bar)", ha="center", fontsize=9, color="#c4501b")
        ax2.set_yscale("symlog")  # shows -1e-4 and -1000 on one axis
        ax2.set_xticks(x, labels)
        ax2.set(title="log-probabilities of b", ylabel="log y (symlog scale)")
        ax2.legend(fontsize=8, loc="lower left")
        fig.tight_layout()
        png = out / "softmax.png"
        fig.savefig(png, dpi=90)
        plt.close(fig)
        print(f"\nPicture: {png}")
        result["pngs"] = [str(png)]
    skipped.report()
    return result


if __name__ == "__main__":
    main()
