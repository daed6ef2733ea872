# %% [markdown]
# # Lesson 13: convolutional networks, from the output-size formula to feature maps
#
# An MLP flattens a digit into 784 numbers and forgets which pixels were neighbours. A
# convolutional layer keeps the image's shape: it slides a small filter (FH x FW weights per input
# channel) over the image and, at every position, sums the products of the weights and the pixels
# under them, one output map per filter. The course's first CNN, `zerograd.models.SimpleConvNet`,
# is the book's conv - relu - pool - affine - relu - affine: `Conv2d(1, 30, 5)`, `ReLU`,
# `MaxPool2d(2)`, `Flatten`, `Linear(4320, 100)`, `ReLU`, `Linear(100, 10)`. The lesson takes it
# apart in five parts.
#
# Part 4 runs on all 10,000 MNIST test images when `ZEROGRAD_DATA` has them, else on the
# 1,000-image sample shipped with zerograd; `--quick` always uses the sample, `--digit I` picks
# another test digit.
#
# Run it as a script with `python examples/13_cnn.py` or `zerograd lesson 13_cnn` (`--quick` for the
# short run, `--out DIR` for the pictures), or as a notebook: `zerograd lesson 13_cnn --notebook`.

# %%
from __future__ import annotations

import argparse
import textwrap
import time
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
import zerograd.functional as F
from zerograd.data import DataLoader
from zerograd.models import SimpleConvNet, pretrained, pretrained_info
from zerograd.train import evaluate

parser = argparse.ArgumentParser(
    description="Lesson 13: convolutional networks, from the output-size formula to feature maps."
)
parser.add_argument("--quick", action="store_true", help="part 4 on the MNIST sample")
parser.add_argument("--out", default="runs/lessons/13_cnn", help="folder for the PNGs")
parser.add_argument("--seed", type=int, default=0, help="seed for random cases and the init")
parser.add_argument("--digit", type=int, default=0, help="which test image part 4 shows")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (matplotlib, the MNIST files): one line each
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
zg.manual_seed(args.seed)
rng = np.random.default_rng(args.seed)  # the random arrays of parts 1, 2 and 5
start = time.perf_counter()
result = {}


# %% [markdown]
# ## The tools: the formula, loops in NumPy, im2col
#
# `SIZE_CASES` are the book's output-size cases; `out_size` is the formula below. `convolve2d` (a
# true convolution) and `cross_correlate` (with channels, bias, stride and padding) are plain loops
# in NumPy, teaching references to check `F.conv2d` against. `im2col` copies each output pixel's
# window into one row of a matrix. `neighbour_correlation` measures how "smooth" filters are: the
# correlation between every weight and its right and lower neighbour (40 pairs in a 5 x 5 filter),
# averaged over the filters, about 0 for noise.

# %%
# Part 1's cases: (what, input (H, W), filter size, padding P, stride S, the op that gives it).
# The first four are the book's (section 7.2), the next two SimpleConvNet's layers on a digit.
SIZE_CASES = [
    ("book: no padding", (4, 4), 3, 0, 1, "conv"),
    ("book example 1: padding 1", (4, 4), 3, 1, 1, "conv"),
    ("book example 2: stride 2", (7, 7), 3, 0, 2, "conv"),
    ("book example 3", (28, 31), 5, 2, 3, "conv"),
    ("SimpleConvNet's conv", (28, 28), 5, 0, 1, "conv"),
    ("SimpleConvNet's pool", (24, 24), 2, 0, 2, "pool"),
    ("not a whole number", (28, 28), 3, 0, 2, "conv"),
]


def out_size(size: int, kernel: int, padding: int, stride: int) -> float:
    """The book's output-size formula, OH = (H + 2P - FH) / S + 1, as a plain division."""
    return (size + 2 * padding - kernel) / stride + 1


def convolve2d(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """True 2-D convolution of an image x (H, W) with a kernel k (KH, KW), the 'valid' part.

    The textbook definition, (x * k)[a, b] = sum_{m, n} x[m, n] k[a - m, b - n], written with
    the kernel's index (p, q) = (a - m, b - n) running forwards, so the image is read backwards:

        y[i, j] = sum_{p, q} k[p, q] * x[i + KH - 1 - p, j + KW - 1 - q]

    for the (H - KH + 1) x (W - KW + 1) positions where the kernel lies wholly inside the image.
    """
    (H, W), (KH, KW) = x.shape, k.shape
    y = np.zeros((H - KH + 1, W - KW + 1), dtype=x.dtype)
    for i in range(H - KH + 1):
        for j in range(W - KW + 1):
            for p in range(KH):
                for q in range(KW):
                    y[i, j] += k[p, q] * x[i + KH - 1 - p, j + KW - 1 - q]
    return y


def cross_correlate(x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int, padding: int):
    """What ``F.conv2d`` computes, with loops: no flip, the window read in the kernel's order.

    y[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q] * xpad[n, c, i*S + p, j*S + q]
    x: (N, C, H, W), W: (CO, C, KH, KW), b: (CO,) -> y: (N, CO, OH, OW), OH = (H + 2P - KH) // S + 1
    """
    N, C, H, Wd = x.shape
    CO, _, KH, KW = W.shape
    P, S = padding, stride
    xpad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))  # zeros around every image
    OH, OW = (H + 2 * P - KH) // S + 1, (Wd + 2 * P - KW) // S + 1
    y = np.zeros((N, CO, OH, OW), dtype=x.dtype)
    for n in range(N):
        for o in range(CO):
            for i in range(OH):
                for j in range(OW):
                    window = xpad[n, :, i * S : i * S + KH, j * S : j * S + KW]
                    y[n, o, i, j] = b[o] + np.sum(W[o] * window)
    return y


def im2col(x: np.ndarray, KH: int, KW: int) -> np.ndarray:
    """(N, C, H, W) -> (N*OH*OW, C*KH*KW): one row per output pixel, the window it sees
    (stride 1, no padding), flattened channel by channel."""
    N, C, H, W = x.shape
    OH, OW = H - KH + 1, W - KW + 1
    rows = [
        x[n, :, i : i + KH, j : j + KW].ravel()
        for n in range(N)
        for i in range(OH)
        for j in range(OW)
    ]
    return np.array(rows)


def neighbour_correlation(filters: np.ndarray) -> float:
    """How smooth filters (K, KH, KW) are: per filter, the correlation between every weight and
    its right and lower neighbour (2 * KH * (KW - 1) pairs for a square filter), averaged over
    the filters. Noise gives about 0; a filter whose neighbouring weights are alike gives more.
    """
    values = []
    for w in filters:
        first = np.concatenate([w[:, :-1].ravel(), w[:-1, :].ravel()])
        second = np.concatenate([w[:, 1:].ravel(), w[1:, :].ravel()])
        values.append(np.corrcoef(first, second)[0, 1])
    return float(np.mean(values))


def show_grid(subfig, images, columns: int, title: str) -> None:
    """Images in a grid of ``columns`` in one subfigure, grey, each scaled to its own range."""
    rows = -(-len(images) // columns)
    axes = subfig.subplots(rows, columns)
    for ax, image in zip(axes.ravel(), images):
        ax.imshow(image, cmap="gray", interpolation="nearest")
    for ax in axes.ravel():
        ax.set_axis_off()
    subfig.suptitle(title, fontsize=11)


# %% [markdown]
# ## Part 1: the output size
#
# Per side, with input size H, filter size FH, padding P and stride S:
#
#     OH = (H + 2P - FH) / S + 1        (OW the same way with W and FW)
#
# Pooling follows the same rule with its window as the filter: `MaxPool2d(2)` is FH = S = 2. The
# cell checks each case against the shape `F.conv2d` or `F.max_pool2d` returns. When the division
# is not whole, as 28x28 with a 3x3 filter and stride 2 (13.5), `F.conv2d` rounds down, as
# PyTorch does: the last row and column are never read (the cell changes them and the output does
# not move). `SimpleConvNet` refuses such sizes with an error that shows the formula.

# %%
print("Part 1: the output size of a convolution or pooling layer, per side,")
print("  OH = (H + 2P - FH) / S + 1   (H input, FH filter, P padding, S stride),")
print("  against the shape of what F.conv2d / F.max_pool2d return")
print(f"\n  {'case':27s} {'input':>6s} {'filter':>8s} {'P':>2s} {'S':>2s}", end="")
print(f" {'formula':>12s} {'layer gives':>12s}")
table = []
for what, (H, W), k, P, S, op in SIZE_CASES:
    x = zg.zeros(1, 1, H, W)
    if op == "conv":
        y = F.conv2d(x, zg.zeros(1, 1, k, k), stride=S, padding=P)
    else:
        y = F.max_pool2d(x, k, stride=S, padding=P)
    formula = (out_size(H, k, P, S), out_size(W, k, P, S))
    shape = tuple(int(n) for n in y.shape[2:])
    row = {"case": what, "input": (H, W), "kernel": k, "padding": P, "stride": S}
    table.append({**row, "formula": formula, "shape": shape})
    size = f"{formula[0]:g} x {formula[1]:g}"
    name = f"{k}x{k}" + (" max" if op == "pool" else "")
    print(f"  {what:27s} {f'{H}x{W}':>6s} {name:>8s} {P:2d} {S:2d} {size:>12s}", end="")
    print(f" {f'{shape[0]} x {shape[1]}':>12s}")
result["size_table"] = table
print("  e.g. book example 3: OH = (28 + 2*2 - 5) / 3 + 1 = 10, OW = (31 + 2*2 - 5) / 3 + 1 = 11")

# 28 - 3 = 25 is odd: with stride 2 the windows start at 0, 2, ..., 24 and the last one
# ends at pixel 26, so pixel 27 is never read; check it by changing the last row and column
x = rng.standard_normal((1, 1, 28, 28))
k = rng.standard_normal((1, 1, 3, 3))
edited = x.copy()
edited[..., 27, :] = rng.standard_normal(28)
edited[..., :, 27] = rng.standard_normal(28)
y0 = F.conv2d(zg.tensor(x), zg.tensor(k), stride=2).numpy()
y1 = F.conv2d(zg.tensor(edited), zg.tensor(k), stride=2).numpy()
result["edge_change"] = float(np.abs(y1 - y0).max())
print("\n  (28 - 3) / 2 + 1 = 13.5 is not a whole number. F.conv2d, like PyTorch, rounds down")
print("  to 13: the windows start at 0, 2, ..., 24, so the last row and column are never")
print("  read (new random values there change the output by", end="")
print(f" {result['edge_change']:g}).")
print("  A model should not lose pixels silently: SimpleConvNet checks every layer's size.")
print("  SimpleConvNet(input_size=27): conv 27 - 5 + 1 = 23, pool (23 - 2) / 2 + 1 = 11.5:")
try:
    SimpleConvNet(input_size=27)
except ValueError as error:
    result["size_error"] = str(error)
    print(
        textwrap.fill(f"ValueError: {error}", 96, initial_indent="    ", subsequent_indent="    ")
    )


# %% [markdown]
# ## Part 2: convolution or cross-correlation?
#
# In mathematics a convolution flips the kernel; what `F.conv2d` computes (like PyTorch's) does
# not, and is properly called cross-correlation:
#
#     true convolution     y[i, j] = sum_{p,q} k[p, q] x[i + KH-1 - p, j + KW-1 - q]
#     cross-correlation    y[i, j] = sum_{p,q} k[p, q] x[i + p, j + q]          (F.conv2d)
#
# So `F.conv2d(x, W[..., ::-1, ::-1])` is the true convolution. A single bright pixel
# cross-correlated with the kernel 1..9 draws the kernel turned by 180 degrees; convolved, it
# draws it as it is. For learning the difference does not matter: training finds the flipped
# weights.

# %%
print("\nPart 2: convolution vs cross-correlation")
print("  true convolution     y[i, j] = sum_{p,q} k[p, q] x[i + KH-1 - p, j + KW-1 - q]")
print("  cross-correlation    y[i, j] = sum_{p,q} k[p, q] x[i + p, j + q]   (F.conv2d)")
impulse = np.zeros((5, 5))
impulse[2, 2] = 1.0  # a single bright pixel: the output draws the kernel
kernel = np.arange(1.0, 10.0).reshape(3, 3)
xcorr = F.conv2d(zg.tensor(impulse[None, None]), zg.tensor(kernel[None, None]), padding=1)
xcorr = xcorr.numpy()[0, 0, 1:4, 1:4]
conv = convolve2d(np.pad(impulse, 1), kernel)[1:4, 1:4]
result["impulse_xcorr"], result["impulse_conv"] = xcorr.tolist(), conv.tolist()
print("  a single 1 in a 5x5 image, kernel 1..9 (padding 1), the middle 3x3 of the output:")
print("    kernel          F.conv2d        convolve2d")
for r in range(3):
    rows = (kernel[r], xcorr[r], conv[r])
    print("    " + "     ".join(" ".join(f"{v:3.0f}" for v in row) for row in rows))
print("  cross-correlation draws the kernel turned by 180 degrees, convolution draws it as it")
print("  is: the two differ by flipping the kernel, W[..., ::-1, ::-1].")

x = rng.standard_normal((1, 1, 8, 8))  # float64: the differences below are rounding only
W = rng.standard_normal((1, 1, 3, 3))
true_conv = convolve2d(x[0, 0], W[0, 0])
flipped = F.conv2d(zg.tensor(x), zg.tensor(W[..., ::-1, ::-1].copy())).numpy()[0, 0]
unflipped = F.conv2d(zg.tensor(x), zg.tensor(W)).numpy()[0, 0]
result["flip_diff"] = float(np.abs(flipped - true_conv).max())
result["noflip_diff"] = float(np.abs(unflipped - true_conv).max())
print("  a random 8x8 image and 3x3 kernel, float64; largest difference from convolve2d:")
print(f"    F.conv2d(x, W[..., ::-1, ::-1])  {result['flip_diff']:.1e}")
print(f"    F.conv2d(x, W)                   {result['noflip_diff']:.1e}")
print("  Learned filters do not care which one is used: training finds the flipped weights.")

x = rng.standard_normal((2, 3, 7, 6))
W = rng.standard_normal((4, 3, 3, 3))
b = rng.standard_normal(4)
naive = cross_correlate(x, W, b, stride=2, padding=1)
library = F.conv2d(zg.tensor(x), zg.tensor(W), zg.tensor(b), stride=2, padding=1).numpy()
result["xcorr_shape"] = tuple(int(n) for n in library.shape)
result["xcorr_diff"] = float(np.abs(library - naive).max())
print("  loops (cross_correlate) vs F.conv2d, x (2, 3, 7, 6), W (4, 3, 3, 3), bias,")
print(f"  stride 2, padding 1 -> {result['xcorr_shape']}: largest difference", end="")
print(f" {result['xcorr_diff']:.1e}")


# %% [markdown]
# ## Part 3: the first layer's filters, before and after training
#
# `zerograd.models.pretrained("simple-cnn-mnist")` is a SimpleConvNet with trained weights shipped
# in the package. Its 30 first-layer filters beside a fresh `SimpleConvNet()` made after
# `zg.manual_seed(0)` (He init, random noise), which is also the init the trained net started from.
# Look at the smoothness numbers: what training added, after minus before, is much smoother than
# either: mostly a light side against a dark side, edge detectors at many angles.

# %%
zg.manual_seed(args.seed)
before = SimpleConvNet()[0].weight.detach().numpy()[:, 0].copy()  # (30, 1, 5, 5) -> (30, 5, 5)
model = pretrained("simple-cnn-mnist")
info = pretrained_info("simple-cnn-mnist")
after = model[0].weight.detach().numpy()[:, 0]
result["smooth_before"] = neighbour_correlation(before)
result["smooth_after"] = neighbour_correlation(after)
result["start_corr"] = float(
    np.mean([np.corrcoef(b.ravel(), a.ravel())[0, 1] for b, a in zip(before, after)])
)
same_start = result["start_corr"] > 0.5
print("\nPart 3: the 30 filters (5x5) of SimpleConvNet's first layer")
print(f"  before: SimpleConvNet() after zg.manual_seed({args.seed}) (He init)")
print("  after:  pretrained('simple-cnn-mnist'), trained (see pretrained_info) by")
print(f"          {info['command']}")
print("  smoothness = correlation between neighbouring weights in a filter, mean of 30:")
print(f"    before training   {result['smooth_before']:6.3f}")
print(f"    after training    {result['smooth_after']:6.3f}")
print("  correlation between each filter before and after, mean of 30:", end="")
print(f" {result['start_corr']:.2f}")
result["smooth_change"] = None
if same_start:
    result["smooth_change"] = neighbour_correlation(after - before)
    print(f"  so seed {args.seed} is the init the shipped weights started from: the noise of the")
    print("  init is still in them, and what training added (after - before) is smoother:")
    print(f"    after - before    {result['smooth_change']:6.3f}")
    print("  (in the picture: mostly a light side against a dark side, edges at many angles)")

blocks = [
    (
        before,
        f"SimpleConvNet's 30 first-layer 5x5 filters before training (seed {args.seed})",
    ),
    (after, "after training: pretrained('simple-cnn-mnist')"),
]
if same_start:
    blocks.append((after - before, "what training added: after - before"))
if plt is not None:  # the picture (matplotlib, the plot extra)
    fig = plt.figure(figsize=(8, 2.8 * len(blocks)), dpi=80)
    for subfig, (filters, title) in zip(fig.subfigures(len(blocks), 1), blocks):
        show_grid(subfig, filters, 10, title)
    result["filters_png"] = str(out / "13_filters.png")
    fig.savefig(result["filters_png"])
    plt.close(fig)
    show(result["filters_png"])


# %% [markdown]
# ## Part 4: one digit through the trained net
#
# The test digit goes (1, 1, 28, 28) -> conv -> (1, 30, 24, 24) -> ReLU -> max pool ->
# (1, 30, 12, 12) -> flatten (4,320) -> 100 -> 10. Max pooling keeps the largest value of every
# 2 x 2 block of every map,
#
#     y[n, c, i, j] = max_{p, q in {0, 1}} x[n, c, 2i + p, 2j + q]
#
# which is `x.reshape(30, 12, 2, 12, 2).max(axis=(2, 4))`; the cell checks that `F.max_pool2d`
# gives exactly that.

# %%
_, test, what = skipped.mnist_splits(sample=True if args.quick else None)
image, label = test[args.digit]
x = image.reshape(1, 1, 28, 28)
with zg.no_grad():
    conv = model[0](x)  # (1, 1, 28, 28) -> (1, 30, 24, 24)
    relu = model[1](conv)
    pooled = model[2](relu)  # (1, 30, 24, 24) -> (1, 30, 12, 12)
    probs = F.softmax(model[3:](pooled), dim=1).numpy()[0]
maps, small = relu.numpy()[0], pooled.numpy()[0]
# max pooling 2x2, stride 2, by hand: split each side into (12, 2) and take the max of each 2x2
by_hand = maps.reshape(30, 12, 2, 12, 2).max(axis=(2, 4))
result["pool_diff"] = float(np.abs(small - by_hand).max())
result["relu_zero_fraction"] = float(np.mean(maps == 0))
result["digit_index"], result["digit_label"] = args.digit, int(label)
result["predicted"] = int(probs.argmax())
result["probability"] = float(probs.max())
print(f"\nPart 4: test image {args.digit} of {what} (a {label}) through the trained net")
print("  (1, 1, 28, 28) -conv 5x5-> (1, 30, 24, 24) -ReLU-> -max pool 2-> (1, 30, 12, 12)")
print("  -flatten-> (1, 4320) -> 100 -ReLU-> 10 logits -softmax-> probabilities")
print(f"  {100 * result['relu_zero_fraction']:.1f}% of the conv outputs are 0 after the ReLU")
print(
    "  max pooling vs reshape(30, 12, 2, 12, 2).max(axis=(2, 4)): largest difference",
    end="",
)
print(f" {result['pool_diff']:g}")
runner_up = int(np.argsort(probs)[-2])
result["runner_up"], result["runner_up_probability"] = (
    runner_up,
    float(probs[runner_up]),
)
print(
    f"  predicted {result['predicted']} with probability {result['probability']:.6f};",
    end="",
)
print(f" the next most likely, {runner_up}, has {probs[runner_up]:.1e}")

if plt is not None:  # the picture (matplotlib, the plot extra)
    fig = plt.figure(figsize=(14, 5.4), dpi=80)
    left, middle, right = fig.subfigures(1, 3, width_ratios=[1, 2.6, 2.6])
    ax = left.subplots()
    ax.imshow(image.numpy()[0], cmap="gray")
    ax.set_axis_off()
    left.suptitle(
        f"test image {args.digit}: a {label}\npredicted {result['predicted']}, "
        f"p = {result['probability']:.4f}",
        fontsize=11,
    )
    show_grid(middle, maps, 6, "30 maps after conv + ReLU (24x24, white = each map's max)")
    show_grid(right, small, 6, "30 maps after max pooling (12x12)")
    result["feature_maps_png"] = str(out / "13_feature_maps.png")
    fig.savefig(result["feature_maps_png"])
    plt.close(fig)
    show(result["feature_maps_png"])

accuracy = evaluate(model, DataLoader(test, batch_size=500))["accuracy"]
result["test_acc"], result["test_images"] = float(accuracy), len(test)
print(f"  accuracy on all {len(test)} test images of {what}: {accuracy:.4f}")
print(f"  (the weights' metadata: {info['test_accuracy']} on the 10,000 MNIST test images)")


# %% [markdown]
# ## Part 5: im2col, the convolution as one matrix product
#
# Loops over output pixels are slow in Python. im2col copies the window each output pixel sees
# into one row of a matrix, and the whole layer becomes one matrix product:
#
#     cols: (N*OH*OW, C*KH*KW),   y = cols @ W.reshape(CO, -1).T
#     y: (N*OH*OW, CO) -> (N, OH, OW, CO) -> transpose -> (N, CO, OH, OW)
#
# The price is memory: every pixel is copied once per window that covers it. zerograd's own
# `F.conv2d` works this way (`src/zerograd/functional/conv.py`).

# %%
x = np.arange(16.0).reshape(1, 1, 4, 4)
W = rng.standard_normal((2, 1, 3, 3))
cols = im2col(x, 3, 3)  # (N*OH*OW, C*KH*KW) = (1*2*2, 1*3*3)
y = cols @ W.reshape(2, -1).T  # (N*OH*OW, CO)
y = y.reshape(1, 2, 2, 2).transpose(0, 3, 1, 2)  # (N, OH, OW, CO) -> (N, CO, OH, OW)
library = F.conv2d(zg.tensor(x), zg.tensor(W)).numpy()
result["im2col"] = cols.tolist()
result["im2col_diff"] = float(np.abs(y - library).max())
print("\nPart 5: im2col. The input 0..15 as a 1x1x4x4 image, a 3x3 kernel: each of the")
print("  2x2 output pixels gets one row holding the 9 pixels its window covers,")
print("  cols (N*OH*OW, C*KH*KW) = (4, 9):")
for row in cols:
    print("    " + " ".join(f"{v:3.0f}" for v in row))
print("  then the whole convolution is one matrix product, here for 2 filters W (2, 1, 3, 3):")
print("  y = cols @ W.reshape(2, 9).T -> (4, 2) -> (1, 2, 2, 2)")
print(f"  largest difference from F.conv2d: {result['im2col_diff']:.1e}")
print("  The price is memory: for a batch of 100 digits and 5x5 filters, cols is")
print(f"  {100 * 24 * 24} x 25, {24 * 24 * 25 / 784:.1f} times as many numbers as the pixels.")

if plt is not None:
    print(f"\nPictures: {result['filters_png']}, {result['feature_maps_png']}")
print("Train the CNNs on the full MNIST with: zerograd train --model simple-cnn (or deep-cnn)")
print(f"Time: {time.perf_counter() - start:.1f} s")

# %%
skipped.report()
