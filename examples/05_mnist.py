# %% [markdown]
# # Lesson 5: MNIST, reading IDX files and batched inference
#
# MNIST comes as four gzip'd IDX files. This lesson reads one header by hand with Python's gzip
# module, loads the same data with `zerograd.data.datasets.MNIST`, draws some digits, trains the
# book's 784-50-100-10 sigmoid network for a few epochs (the book loads pretrained weights
# instead), classifies the test set 100 images at a time, draws the mistakes and times batched
# against one-at-a-time inference.
#
# The full MNIST files are read from `ZEROGRAD_DATA` (a folder holding `mnist/`); without them the
# lesson says so and uses the 6,000 / 1,000-image sample shipped in the package. `--quick` trains
# one epoch on 6,000 images.
#
# Run it as a script with `python examples/05_mnist.py` or `zerograd lesson 05_mnist`
# (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook:
# `zerograd lesson 05_mnist --notebook`.

# %%
import argparse
import gzip
import time
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg
from zerograd import nn, optim
from zerograd.data import DataLoader, Subset
from zerograd.train import accuracy, evaluate, fit, predict

parser = argparse.ArgumentParser(
    description="Lesson 5: MNIST, reading IDX files and batched inference."
)
parser.add_argument("--quick", action="store_true", help="1 epoch on 6,000 images")
parser.add_argument("--out", default="runs/lessons/05_mnist", help="folder for the PNGs")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--epochs", type=int, default=None, help="default: 5 (quick: 1)")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (matplotlib, the MNIST files): one line each
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
zg.manual_seed(args.seed)
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
epochs = args.epochs or (1 if args.quick else 5)


# %% [markdown]
# ## Two tools: an IDX header reader and a grid of digits
#
# An IDX file is a header of big-endian 32-bit integers and then the raw data. The images file
# starts with the magic number 0x00000803 = 2051 (two zero bytes, the type code 0x08 for unsigned
# bytes, and the number of dimensions, 3), then one size per dimension (60000, 28, 28), then
# 60,000 x 28 x 28 pixel bytes, row after row. The labels file has magic 2049 (0x00000801: one
# dimension), the count, and one byte per label. `read_idx_header` reads exactly that with
# `int.from_bytes(..., "big")`; `plot_digits` draws images in a grid with their titles.


# %%
def read_idx_header(path):
    """The IDX header by hand: 4 bytes of magic number, then one 4-byte size per dimension."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        magic = int.from_bytes(f.read(4), "big")  # 2051 = images (3 dims), 2049 = labels (1 dim)
        ndim = magic & 0xFF  # the magic's last byte is the number of dimensions
        sizes = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
        first = f.read(sizes[1] * sizes[2]) if ndim == 3 else f.read(1)  # the first item's bytes
    return magic, sizes, first


def plot_digits(plt, images, titles, colors, path, suptitle):
    cols = 8
    rows = (len(images) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3))
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title, color in zip(axes.flat, images, titles, colors):
        ax.imshow(image.reshape(28, 28), cmap="gray_r")
        ax.set_title(title, fontsize=9, color=color)
    fig.suptitle(suptitle)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# %% [markdown]
# ## 1. An IDX file, byte by byte
#
# Look at the magic number and the three sizes: 2051, then N, 28, 28.

# %%
# The full MNIST files from ZEROGRAD_DATA or the cache, else the sample shipped in the package.
# .files holds the paths each split was read from.
train, test, _ = skipped.mnist_splits(flatten=True)
image_file = train.files["train-images-idx3-ubyte"]
magic, sizes, first_image = read_idx_header(image_file)
label_magic, label_sizes, first_label = read_idx_header(train.files["train-labels-idx1-ubyte"])
print(f"== 1. The IDX file {Path(image_file).name} ==")
print(f"magic number: {magic}  (0x{magic:08x}: type 0x08 = unsigned byte, 3 dimensions)")
print(f"images: {sizes[0]}  rows: {sizes[1]}  columns: {sizes[2]}")
print(f"labels file: magic {label_magic}, {label_sizes[0]} labels")
print(f"first image: {len(first_image)} bytes after the 16-byte header; label {first_label[0]}")


# %% [markdown]
# ## 2. The same data through the library
#
# `MNIST(train=True, flatten=True)` reads the same files (after checking their SHA-256). It keeps
# the images as uint8 in `.data` and the labels in `.targets`; a sample is a float32 vector of 784
# pixels scaled by x / 255, as the book's `load_mnist(normalize=True, flatten=True)` returns. The
# cell checks that image 0 in `.data` equals the 784 bytes read by hand.

# %%
source = "the package's sample" if train.is_sample else "the full files"
print(f"\n== 2. MNIST(flatten=True) from {source} ==")
print(f"train: {len(train)} images, test: {len(test)} images")
raw_matches = bool(np.array_equal(train.data[0].reshape(-1), np.frombuffer(first_image, "u1")))
print(f"image 0 in .data equals the 784 bytes read by hand: {raw_matches}")
x0, t0 = train[0]
print(
    f"one sample: x {x0.shape} {x0.dtype}, pixels in [{x0.min().item()}, "
    f"{x0.max().item()}] (x / 255), label {t0}"
)
grid_png = out / "05_digits.png"
if plt is not None:  # the picture (matplotlib, the plot extra)
    plot_digits(
        plt,
        train.data[:40],
        [str(t) for t in train.targets[:40]],
        ["black"] * 40,
        grid_png,
        "The first 40 training images and their labels",
    )
    show(grid_png)


# %% [markdown]
# ## 3. A network to run
#
# The book runs a 784-50-100-10 sigmoid network with pretrained weights (`sample_weight.pkl`).
# zerograd ships no pickles, so the lesson trains that network itself with `zerograd.train.fit`:
# Adam (lr 0.005, batch 100), 5 epochs (1 with `--quick`).

# %%
# Adam (lesson 9's optimizer) because plain SGD is slow to start on sigmoid layers and training is
# not this lesson's topic
model = nn.Sequential(
    nn.Linear(784, 50),
    nn.Sigmoid(),
    nn.Linear(50, 100),
    nn.Sigmoid(),
    nn.Linear(100, 10),
)
train_set = Subset(train, range(6000)) if args.quick and len(train) > 6000 else train
print(
    f"\n== 3. Training 784-50-100-10 sigmoid, Adam lr 0.005, batch 100, on "
    f"{len(train_set)} images for {epochs} epoch{'s' if epochs > 1 else ''} =="
)
start = time.perf_counter()
history = fit(
    model,
    nn.CrossEntropyLoss(),
    optim.Adam(model.parameters(), lr=0.005),
    DataLoader(train_set, batch_size=100, shuffle=True),
    epochs=epochs,
)
train_seconds = time.perf_counter() - start
print("(train accuracy: the running mean over each epoch's batches, as the weights change)")
for e in history.epochs:
    print(f"epoch {e['epoch']}: loss {e['loss']:.4f}, train accuracy {e['accuracy']:.4f}")
print(f"training time: {train_seconds:.1f} s")


# %% [markdown]
# ## 4. Batched inference
#
# As in the book's section on batch processing:
#
#     Y = sigmoid(sigmoid(X W1^T + b1) W2^T + b2) W3^T + b3,   p = argmax(Y, axis=1),
#     accuracy = #(p == t) / N
#
# X has shape (100, 784), one row per image, and the shapes go (100, 784) -> (100, 50) ->
# (100, 100) -> (100, 10). zerograd stores each W as (out, in), as PyTorch does, so the book's W is
# the transpose. `predict(model, x, batch_size=100)` runs this loop over the test set;
# `zerograd.train.accuracy(y, t)` and `evaluate(model, loader)` give the same number as the count
# done by hand.

# %%
x_test, t_test = next(iter(DataLoader(test, batch_size=len(test))))  # the whole test set
t_test = t_test.numpy()
y = predict(model, x_test, batch_size=100)  # (N, 10) scores, 100 rows per forward pass
p = y.argmax(dim=1).numpy()
correct = int((p == t_test).sum())  # the book's accuracy_cnt
test_accuracy = correct / len(t_test)
print("\n== 4. Inference on the test set, batch_size=100 ==")
print(f"correct: {correct} of {len(t_test)}  test accuracy: {test_accuracy:.4f}")
# the library's shortcuts give the same number
evaluate_accuracy = evaluate(model, DataLoader(test, batch_size=100))["accuracy"]
print(
    f"zerograd.train.accuracy(y, t): {accuracy(y, t_test):.4f}  "
    f"evaluate(model, loader): {evaluate_accuracy:.4f}"
)

wrong = np.flatnonzero(p != t_test)
print(
    f"misclassified: {len(wrong)} images; the first ones (index: predicted/true): "
    + ", ".join(f"{i}: {p[i]}/{t_test[i]}" for i in wrong[:8])
)
wrong_png = out / "05_misclassified.png"
if plt is not None:  # the picture (matplotlib, the plot extra)
    shown = wrong[:32]
    plot_digits(
        plt,
        test.data[shown],
        [f"{p[i]} (true {t_test[i]})" for i in shown],
        ["tab:red"] * len(shown),
        wrong_png,
        "Misclassified test images: predicted (true)",
    )
    show(wrong_png)


# %% [markdown]
# ## 5. Why batches
#
# With 100 rows, each layer is one matrix product instead of 100 vector-matrix products. The fixed
# cost of a call (Python, the op, starting BLAS) is paid once per 100 images, and BLAS runs faster
# on one large product than on many small ones. The cell times the same 1,000 images one at a time
# and 100 at a time (the best of 5 runs: the least disturbed by other programs) and checks that the
# outputs are the same.

# %%
x_1000 = x_test[:1000]


def best_time(batch_size):
    times = []
    for _ in range(5):
        start = time.perf_counter()
        predict(model, x_1000, batch_size=batch_size)
        times.append(time.perf_counter() - start)
    return min(times)


single_seconds, batched_seconds = best_time(1), best_time(100)
same = bool(np.allclose(predict(model, x_1000, batch_size=1).numpy(), y.numpy()[:1000], atol=1e-5))
speedup = single_seconds / batched_seconds
print(f"\n== 5. Inference time on {len(x_1000)} images ==")
print(
    f"one at a time (batch_size=1): {single_seconds * 1000:8.1f} ms "
    f"({len(x_1000) / single_seconds:,.0f} images/s)"
)
print(
    f"batched (batch_size=100):     {batched_seconds * 1000:8.1f} ms "
    f"({len(x_1000) / batched_seconds:,.0f} images/s)"
)
print(f"batching is {speedup:.0f}x faster, same outputs: {same}")
print("(one big matrix product replaces 100 small ones: less Python and call overhead)")
if plt is not None:
    print(f"\npictures: {grid_png}, {wrong_png}")

result = {
    "magic": magic,
    "num_images": sizes[0],
    "rows": sizes[1],
    "cols": sizes[2],
    "label_magic": label_magic,
    "num_labels": label_sizes[0],
    "raw_matches_dataset": raw_matches,
    "is_sample": train.is_sample,
    "train_size": len(train_set),
    "test_size": len(t_test),
    "epochs": epochs,
    "train_seconds": train_seconds,
    "correct": correct,
    "test_accuracy": test_accuracy,
    "evaluate_accuracy": evaluate_accuracy,
    "num_misclassified": len(wrong),
    "single_seconds": single_seconds,
    "batched_seconds": batched_seconds,
    "speedup": speedup,
    "same_outputs": same,
}
if plt is not None:
    result["pngs"] = [str(grid_png), str(wrong_png)]

# %%
skipped.report()
