# %% [markdown]
# # Lesson 19: a character GPT writes Shakespeare
#
# Lesson 16's LSTM read tiny-shakespeare one character at a time, carrying a state. A transformer
# reads a whole window of characters at once; each position gathers what it needs from the
# positions before it with **self-attention**, the operation of lesson 18, where queries, keys and
# values now all come from the same sequence. A mask keeps every position from seeing the future,
# so all 64 positions of a window are 64 next-character predictions trained in one pass.
#
# First one attention head by hand, checked against `F.scaled_dot_product_attention`; then
# `models.GPT`, Karpathy's nanoGPT, trained with its laptop configuration for `shakespeare_char`:
# 4 layers, 4 heads, 128 wide, a context of 64 characters, batches of 12, 2,000 iterations,
# AdamW at lr 1e-3. nanoGPT reports a validation loss of about 1.88 nats per character for it.
#
# It needs `tinyshakespeare/input.txt` under `ZEROGRAD_DATA` (without it the lesson says so and
# ends). `--quick` trains a 2-layer, 64-wide model for 150 iterations and validates on part of
# the validation text.
#
# Run it as a script with `python examples/19_char_gpt.py` or `zerograd lesson 19_char_gpt`
# (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook: `zerograd lesson
# 19_char_gpt --notebook`.

# %%
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import EndLesson, parse_args, show

import zerograd as zg
import zerograd.functional as F
from zerograd import models, nn, optim
from zerograd.data.text import CharVocab

parser = argparse.ArgumentParser(description="Lesson 19: a character GPT writes Shakespeare.")
parser.add_argument("--quick", action="store_true", help="a tiny model, 150 iterations")
parser.add_argument("--out", default="runs/lessons/19_char_gpt", help="folder for the PNG")
parser.add_argument("--seed", type=int, default=0, help="seed for weights, batches, sampling")
parser.add_argument("--iters", type=int, default=None, help="training iterations (2,000)")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (the text file, matplotlib): one line at the end
plt = skipped.pyplot()
text = skipped.tiny_shakespeare("the lesson: training and sampling a character GPT")
if text is None:  # no sample of tiny-shakespeare ships with the package: nothing to train on
    skipped.report()
    raise EndLesson()  # the lesson ends here: exit status 0, and an empty result
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
start = time.perf_counter()
result = {}

# %% [markdown]
# ## One attention head by hand
#
# A window of T characters arrives as x (T, C), one vector per position. One head projects it
# three ways, Q = x W_q, K = x W_k, V = x W_v (each (T, d)), and
#
#     scores = Q K^T / sqrt(d)               (T, T): how much position t wants position s
#     scores[t, s] = -inf for s > t          the causal mask: no peeking at the future
#     A = softmax(scores) row by row         row t: weights over positions 0..t, summing to 1
#     y = A V                                (T, d): each position's mix of the values
#
# The 1/sqrt(d) keeps the scores' spread near 1 whatever d is, so the softmax does not saturate.
# `F.scaled_dot_product_attention(Q, K, V, is_causal=True)` is the same thing as one op (with its
# own backward); the two must agree.

# %%


def causal_attention_by_hand(x, Wq, Wk, Wv):
    """One causal attention head in NumPy: x (T, C), W* (C, d) -> y (T, d) and the weights A."""
    Q, K, V = x @ Wq, x @ Wk, x @ Wv
    T, d = Q.shape
    scores = Q @ K.T / math.sqrt(d)
    scores[np.triu(np.ones((T, T), bool), k=1)] = -np.inf  # s > t: the future
    A = np.exp(scores - scores.max(axis=1, keepdims=True))
    A /= A.sum(axis=1, keepdims=True)
    return A @ V, A


rng = np.random.default_rng(args.seed)
x = rng.standard_normal((8, 16))
Wq, Wk, Wv = (rng.standard_normal((16, 4)) / 4 for _ in range(3))
y, A = causal_attention_by_hand(x, Wq, Wk, Wv)
q, k, v = (zg.tensor(x @ W) for W in (Wq, Wk, Wv))
y_op = F.scaled_dot_product_attention(q, k, v, is_causal=True)
difference = float(np.abs(y - y_op.data).max())
print(f"one head, T = 8, d = 4: by hand vs F.scaled_dot_product_attention, max difference "
      f"{difference:.1e}")  # fmt: skip
print("  attention weights (row t: how position t mixes positions 0..t):")
print(np.array2string(A[:4, :4], precision=2, suppress_small=True))
result["attention_difference"] = difference

# %% [markdown]
# ## The data
#
# Characters get ids (`CharVocab`, 65 of them); the first 90% of the text trains, the last 10%
# validates. A batch is 12 windows of 64 characters at random places in the training text, and
# the targets are the same windows shifted one character on (nanoGPT's `get_batch`).

# %%
vocab = CharVocab.from_text(text)
ids = vocab.encode(text).astype(np.int64)
split = int(0.9 * len(ids))
train_ids, val_ids = ids[:split], ids[split:]
if args.quick:
    val_ids = val_ids[:20_000]
block, batch_size = (32, 12) if args.quick else (64, 12)
batch_rng = np.random.default_rng(args.seed)


def get_batch(data, batch_size: int, block: int):
    """``batch_size`` random windows of ``data`` and the characters that follow them."""
    start = batch_rng.integers(0, len(data) - block - 1, batch_size)
    x = np.stack([data[i : i + block] for i in start])
    y = np.stack([data[i + 1 : i + 1 + block] for i in start])
    return zg.tensor(x), zg.tensor(y)


def validation_loss(model, data, block: int, batch_size: int = 64) -> float:
    """Mean cross-entropy (nats per character) over all non-overlapping windows of ``data``."""
    n = (len(data) - 1) // block
    x_all = data[: n * block].reshape(n, block)
    y_all = data[1 : n * block + 1].reshape(n, block)
    total, V = 0.0, model.config["vocab_size"]
    model.eval()
    with zg.no_grad():
        for i in range(0, n, batch_size):
            logits = model(zg.tensor(x_all[i : i + batch_size]))
            y = zg.tensor(y_all[i : i + batch_size].reshape(-1))
            total += F.cross_entropy(logits.reshape(-1, V), y).item() * len(y)
    model.train()
    return total / (n * block)


print(f"\ntiny-shakespeare: {len(text):,} characters, a vocabulary of {len(vocab)}; "
      f"training on {len(train_ids):,}, validating on {len(val_ids):,}")  # fmt: skip

# %% [markdown]
# ## The model and nanoGPT's recipe
#
# `models.GPT` is nanoGPT's `model.py`: token and position embeddings, `n_layer` blocks of
#
#     x = x + attention(LayerNorm(x))        n_head heads of n_embd / n_head features each
#     x = x + MLP(LayerNorm(x))              Linear 4x wider, GELU, Linear back
#
# then a last LayerNorm and a head tied to the token embedding. The recipe is nanoGPT's too:
# AdamW (betas 0.9, 0.99) with weight decay 0.1 on the matrices only, the learning rate warmed
# up linearly over 100 iterations to 1e-3 and then decayed along a cosine to 1e-4, gradients
# clipped to norm 1.

# %%
if args.quick:
    config = dict(n_layer=2, n_head=2, n_embd=64, block_size=block, dropout=0.0)
    iters, warmup, eval_every = args.iters or 150, 20, 50
else:
    config = dict(n_layer=4, n_head=4, n_embd=128, block_size=block, dropout=0.0)
    iters, warmup, eval_every = args.iters or 2_000, 100, 250
LR, MIN_LR = 1e-3, 1e-4


def learning_rate(it: int) -> float:
    """nanoGPT's schedule: linear warm-up, then cosine decay from LR to MIN_LR."""
    if it < warmup:
        return LR * (it + 1) / (warmup + 1)
    progress = min(1.0, (it - warmup) / max(1, iters - warmup))
    return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * progress)) * (LR - MIN_LR)


zg.manual_seed(args.seed)
model = models.GPT(vocab_size=len(vocab), **config)
decay = [p for p in model.parameters() if p.ndim >= 2]  # matrices and embeddings
no_decay = [p for p in model.parameters() if p.ndim < 2]  # biases and LayerNorm gains
opt = optim.AdamW(
    [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
    lr=LR,
    betas=(0.9, 0.99),
)
print(f"\nGPT {config}: {model.num_parameters():,} parameters (without the position embedding)")
print(f"  {iters} iterations of {batch_size} x {block} characters")

curve = [(0, validation_loss(model, val_ids, block))]
print(f"  iter    0  validation loss {curve[0][1]:.4f} (ln {len(vocab)} = "
      f"{math.log(len(vocab)):.2f} knows nothing)")  # fmt: skip
t0 = time.perf_counter()
train_losses = []
for it in range(iters):
    for group in opt.param_groups:
        group["lr"] = learning_rate(it)
    x, y = get_batch(train_ids, batch_size, block)
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    train_losses.append(loss.item())
    if (it + 1) % eval_every == 0 or it + 1 == iters:
        curve.append((it + 1, validation_loss(model, val_ids, block)))
        print(f"  iter {it + 1:4d}  train loss {np.mean(train_losses[-50:]):.4f}  validation loss "
              f"{curve[-1][1]:.4f}  ({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
seconds = time.perf_counter() - t0
print(f"\n  {seconds / iters * 1000:.0f} ms per iteration, {seconds / 60:.1f} min of training")
result.update(val_loss=curve[-1][1], val_curve=curve, train_losses=train_losses)
result.update(seconds=seconds, config=config, iters=iters)

# %% [markdown]
# ## Samples
#
# `model.generate` appends one character at a time: the logits of the last position, divided by
# the temperature, through a softmax, one draw; the context is the last `block_size` characters.

# %%
model.eval()
samples = {}
for temperature in (0.8, 1.0):
    zg.manual_seed(args.seed)
    prompt = zg.tensor(vocab.encode("ROMEO:").astype(np.int64).reshape(1, -1))
    ids_out = model.generate(prompt, max_new_tokens=300, temperature=temperature)
    samples[temperature] = vocab.decode(ids_out.data[0].tolist())
    print(f"\n--- temperature {temperature} ---\n{samples[temperature]}")
result["samples"] = samples

# %% [markdown]
# ## The learning curve

# %%
if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 4))
    steps_seen = np.arange(1, iters + 1)
    window = min(50, iters)
    smooth = np.convolve(train_losses, np.ones(window) / window, mode="valid")
    ax.plot(steps_seen[window - 1 :], smooth, label=f"training batches (mean of {window})")
    ax.plot(*zip(*curve), marker="o", label="validation text")
    ax.set(xlabel="iteration", ylabel="cross-entropy, nats per character")
    ax.set_title("A character GPT on tiny-shakespeare")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "19_char_gpt.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    show(path)
    result["png"] = str(path)
    print(f"\nWrote {path}")
print(f"{time.perf_counter() - start:.0f} s in all")

# %%
skipped.report()
