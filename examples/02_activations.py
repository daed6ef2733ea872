"""Lesson 2: activation functions.

The perceptron's step function is one choice of activation h(a) among many: the sigmoid
1 / (1 + exp(-a)), tanh, ReLU max(a, 0), leaky ReLU and the identity. The lesson prints and plots
each one with its derivative, the derivative computed by zerograd's autograd and checked against
the formula on paper, and shows why a network needs a non-linear activation at all: three Linear
layers with nothing between them compute exactly what one Linear layer does. Run it with
``python examples/02_activations.py`` or ``zerograd lesson 02_activations`` (``--quick`` for a
coarser plot, ``--out DIR`` for the picture, ``--seed N`` for other layer weights).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped

import zerograd as zg
import zerograd.functional as F
from zerograd import nn

SLOPE = 0.1  # leaky ReLU's slope for a < 0 (PyTorch's default is 0.01, too flat to see in a plot)

# each activation, and its derivative written as the formula on paper (NumPy, from x and y = h(x))
ACTIVATIONS = {
    "step": (F.step, lambda x, y: np.zeros_like(x)),
    "sigmoid": (F.sigmoid, lambda x, y: y * (1 - y)),
    "tanh": (F.tanh, lambda x, y: 1 - y**2),
    "ReLU": (F.relu, lambda x, y: (x > 0).astype(x.dtype)),
    f"leaky ReLU ({SLOPE})": (
        lambda x: F.leaky_relu(x, SLOPE),
        lambda x, y: np.where(x > 0, 1.0, SLOPE).astype(x.dtype),
    ),
    "identity": (F.identity, lambda x, y: np.ones_like(x)),
}


def value_and_derivative(h, values):
    """h(x) and h'(x) at each point of ``values``, the derivative from autograd.

    Each y_i depends on x_i alone, so d(sum of y)/dx_i = h'(x_i): one backward gives them all.
    """
    x = zg.tensor(values, requires_grad=True)
    y = h(x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points in the plot")
    parser.add_argument("--out", default="runs/lessons/02_activations", help="folder for the PNG")
    parser.add_argument("--seed", type=int, default=0, help="seed for the Linear layers' weights")
    args = parser.parse_args(argv)
    skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
    plt = skipped.pyplot()  # None without matplotlib: the numbers still print
    zg.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {}

    # --- 1. the sigmoid, by the formula and by the library --------------------------------------
    x = zg.tensor([1.0, 2.0])
    naive = 1 / (1 + np.exp(-x.numpy()))  # the formula on paper
    lib = F.sigmoid(x).numpy()
    print("1. The sigmoid h(a) = 1 / (1 + exp(-a)):")
    for a, n, v in zip(x.tolist(), naive, lib):
        print(f"   sigmoid({a:.1f}) = {v:.4f}   (formula: {n:.4f})")
    result["sigmoid_1"], result["sigmoid_2"] = float(lib[0]), float(lib[1])

    # --- 2. every activation and its derivative at a few points ---------------------------------
    points = np.array([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=np.float32)
    header = "".join(f"{p:>8.1f}" for p in points)
    values, slopes, errors = {}, {}, {}
    for name, (h, formula) in ACTIVATIONS.items():
        y, dy = value_and_derivative(h, points)
        values[name], slopes[name] = y, dy
        errors[name] = float(np.abs(dy - formula(points, y)).max())
    print("\n2. Each activation h(x), and h'(x) by autograd (x.requires_grad,")
    print("   h(x).sum().backward(), x.grad) next to the formula on paper")
    print("   (sigmoid' = y (1 - y), tanh' = 1 - y^2, ...):")
    print(f"   {'x':18s}{header}")
    for name, y in values.items():
        print(f"   {name:18s}" + "".join(f"{v:8.4f}" for v in y))
    print(f"   {'derivative':18s}{header}   |autograd - formula|")
    for name, dy in slopes.items():
        row = "".join(f"{v:8.4f}" for v in dy)
        print(f"   {name:18s}{row}   {errors[name]:.1e}")
    print("   sigmoid' is at most 0.25 (at 0): a sigmoid scales the gradient by 0.25 or less;")
    print("   step' is 0 everywhere (undefined at 0), so gradient descent cannot train a step net;")
    print("   ReLU' at 0 is taken as 0, as in PyTorch.")
    result["derivatives"] = {name: dy.tolist() for name, dy in slopes.items()}
    result["max_formula_error"] = max(errors.values())

    # --- 3. without an activation, depth buys nothing -------------------------------------------
    # y = ((x W1^T + b1) W2^T + b2) W3^T + b3 = x (W3 W2 W1)^T + (W3 W2 b1 + W3 b2 + b3):
    # three Linear layers (nn.Linear keeps W as (out, in)) are one Linear with W = W3 W2 W1.
    l1, l2, l3 = nn.Linear(4, 16), nn.Linear(16, 16), nn.Linear(16, 3)
    one = nn.Linear(4, 3)
    x = zg.randn(8, 4)
    with zg.no_grad():  # no training here: don't record the graph
        W = l3.weight @ l2.weight @ l1.weight
        b = l3.weight @ (l2.weight @ l1.bias + l2.bias) + l3.bias
        one.load_state_dict({"weight": W, "bias": b})
        deep = l3(l2(l1(x)))
        shallow = one(x)
        with_relu = l3(F.relu(l2(F.relu(l1(x)))))
    diff_linear = float((deep - shallow).abs().max().item())
    diff_relu = float((with_relu - shallow).abs().max().item())
    n_deep = sum(p.numel() for m in (l1, l2, l3) for p in m.parameters())
    n_one = sum(p.numel() for p in one.parameters())
    print("\n3. Three Linear layers 4 -> 16 -> 16 -> 3 with no activation between them,")
    print("   against one Linear 4 -> 3 with weight W3 W2 W1 and bias W3 W2 b1 + W3 b2 + b3:")
    print(f"   max |deep - one layer|          = {diff_linear:.1e}  (float32 rounding: the same)")
    print(f"   with ReLU between, max |diff|   = {diff_relu:.3f}  (no single layer does that)")
    print(f"   the deep one has {n_deep} parameters, the single layer {n_one}, same answers:")
    print("   without a non-linear h between the layers, depth buys nothing")
    result["linear_max_diff"], result["relu_max_diff"] = diff_linear, diff_relu

    # --- picture: the activations and their derivatives (matplotlib, the plot extra) ------------
    if plt is not None:
        grid = np.linspace(-5, 5, 201 if args.quick else 1001, dtype=np.float32)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        # ReLU, leaky ReLU and the identity coincide for x > 0: thick, thin and dotted lines keep
        # all three visible
        styles = [
            dict(lw=2),
            dict(lw=2),
            dict(lw=2),
            dict(lw=4, alpha=0.6),
            dict(lw=1.8),
            dict(ls=":"),
        ]
        for (name, (h, _)), style in zip(ACTIVATIONS.items(), styles):
            y, dy = value_and_derivative(h, grid)
            ax1.plot(grid, y, label=name, **style)
            ax2.plot(grid, dy, label=name, **style)
        ax1.set(title="activations h(x)", xlabel="x", ylabel="h(x)", ylim=(-2, 3))
        ax2.set(
            title="derivatives h'(x), by autograd", xlabel="x", ylabel="h'(x)", ylim=(-0.1, 1.1)
        )
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3)
            ax.axhline(0, color="k", linewidth=0.5)
        ax1.legend(fontsize=8)
        fig.tight_layout()
        png = out / "activations.png"
        fig.savefig(png, dpi=90)
        plt.close(fig)
        print(f"\nPicture: {png}")
        result["pngs"] = [str(png)]
    skipped.report()
    return result


if __name__ == "__main__":
    main()
