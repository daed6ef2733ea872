# %% [markdown]
# # Lesson 18: attention, a decoder that looks back at its input
#
# A sequence-to-sequence model reads one sequence and writes another. The task here is small and
# exact: dates written the way people write them, `"september 27, 1994"`, `"27 Sep 1994"`,
# `"9/27/94"`, `"tuesday, september 27, 1994"` (16 formats, `zerograd.data.dates`), to be
# rewritten as `"1994-09-27"`, character by character.
#
# Two models, the same size and the same training:
#
# - **without attention**: a GRU encoder reads the source; its last state is the only thing the
#   GRU decoder is given. Everything about the date must squeeze through that one vector.
# - **with attention**: the same, plus, at every output step, the decoder's state asks "which
#   source characters matter now?" and reads a weighted mix of the encoder's states.
#
# Both are scored on 1,000 held-out dates (days never seen in training): a date counts only if all
# ten characters are right. `--quick` trains each model for 250 steps and scores 200 dates.
#
# Run it as a script with `python examples/18_attention.py` or `zerograd lesson 18_attention`
# (`--quick` for the short run, `--out DIR` for the pictures), or as a notebook: `zerograd lesson
# 18_attention --notebook`.

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
from zerograd.data.dates import SOURCE_CHARS, TARGET_CHARS, dates

parser = argparse.ArgumentParser(
    description="Lesson 18: attention, a decoder that looks back at its input."
)
parser.add_argument("--quick", action="store_true", help="250 steps per model, 200 test dates")
parser.add_argument("--out", default="runs/lessons/18_attention", help="folder for the PNG")
parser.add_argument("--seed", type=int, default=0, help="seed for the weights and the data")
parser.add_argument("--steps", type=int, default=None, help="training steps per model (1,500)")
parser.add_argument("--hidden", type=int, default=64, help="GRU units (64)")
parser.add_argument("--batch-size", type=int, default=64, help="dates per step (64)")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
steps = args.steps or (250 if args.quick else 1_500)
n_test = 200 if args.quick else 1_000
start = time.perf_counter()
result = {}

# %% [markdown]
# ## The data: characters in, characters out
#
# Source characters get ids 1..47 (`SOURCE_CHARS`), 0 is padding; target characters are the ten
# digits and `-` (ids 0..10), and id 11 is `<start>`, the decoder's first input. Sources are
# **padded on the left** to 29 characters, so the encoder reads the padding first and the date
# last: its last state comes straight after the date's last character.
#
# The test set is 1,000 dates drawn with another seed; training examples whose day is among them
# are dropped, so the score is on days the models never saw, in any format.

# %%
PAD, START = 0, len(TARGET_CHARS)
SOURCE_LENGTH, TARGET_LENGTH = 29, 10
SOURCE_IDS = {c: i + 1 for i, c in enumerate(SOURCE_CHARS)}
TARGET_IDS = {c: i for i, c in enumerate(TARGET_CHARS)}


def encode(sources, targets):
    """Sources as (N, 29) ids padded on the left with 0; targets as (N, 10) ids."""
    X = np.zeros((len(sources), SOURCE_LENGTH), np.int64)
    for i, s in enumerate(sources):
        X[i, SOURCE_LENGTH - len(s) :] = [SOURCE_IDS[c] for c in s]
    Y = np.array([[TARGET_IDS[c] for c in t] for t in targets], np.int64).reshape(-1, 10)
    return X, Y


def decode(ids) -> str:
    """Target ids back to text."""
    return "".join(TARGET_CHARS[i] for i in ids)


test_sources, test_targets = dates(n_test, seed=args.seed + 1)
train_sources, train_targets = dates(steps * args.batch_size, seed=args.seed)
held_out = set(test_targets)
keep = [i for i, t in enumerate(train_targets) if t not in held_out]
X_train, Y_train = encode([train_sources[i] for i in keep], [train_targets[i] for i in keep])
X_test, Y_test = encode(test_sources, test_targets)
print(f"{len(X_train):,} training dates ({len(train_targets) - len(keep)} dropped: their day is "
      f"in the test set), {len(X_test):,} test dates; for example")  # fmt: skip
for s, t in list(zip(test_sources, test_targets))[:6]:
    print(f"  {s!r:32} -> {t!r}")

# %% [markdown]
# ## The model: encoder, decoder, and the attention in between
#
# The encoder embeds the source characters (32 numbers each) and runs a GRU over them: one state
# per source character, `memory` (N, 29, H), and the last one, h (1, N, H). The decoder is a second
# GRU that starts from h and reads the target so far, one character per step; its state q_t
# (N, H) feeds a `Linear` that scores the 11 possible next characters.
#
# Attention adds one thing. At step t the decoder's state is a **query**; the encoder's states are
# the **keys** and the **values**. Scaled dot-product attention (`F.scaled_dot_product_attention`):
#
#     scores_ts = q_t . k_s / sqrt(H)                 how well source position s fits step t
#     a_ts      = softmax over s of scores_ts         the weights: >= 0, summing to 1 over s
#     c_t       = sum_s a_ts v_s                      the context: a weighted mix of the states
#
# with padding masked out (a bool mask: True where the key is a real character). The head then
# scores [q_t, c_t] (2H numbers) instead of q_t alone. Nothing tells the model where to look: the
# weights a_ts are learned from the loss like everything else.
#
# Training uses **teacher forcing**: the decoder reads the *true* previous characters
# (`<start>`, 1, 9, 9, 4, -, ...), so all ten steps run in one call of the GRU and attention runs
# on all ten queries at once.

# %%


class Seq2Seq(nn.Module):
    """A character GRU encoder-decoder, with or without attention over the encoder's states.

    x: (N, S) source ids, y_in: (N, T) previous target ids -> logits (N, T, 11).
    """

    def __init__(self, hidden: int, attention: bool, embed: int = 32):
        super().__init__()
        self.attention = attention
        self.source_embed = nn.Embedding(len(SOURCE_CHARS) + 1, embed, padding_idx=PAD)
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.target_embed = nn.Embedding(len(TARGET_CHARS) + 1, embed)
        self.decoder = nn.GRU(embed, hidden, batch_first=True)
        self.head = nn.Linear(2 * hidden if attention else hidden, len(TARGET_CHARS))

    def encode(self, x):
        """The encoder's states (N, S, H), its last state (1, N, H) and the padding mask."""
        memory, h = self.encoder(self.source_embed(x))
        mask = (x != PAD).unsqueeze(1)  # (N, 1, S): True where a key is a real character
        return memory, h, mask

    def decode(self, y_in, memory, mask, h):
        """Logits (N, T, 11) for the next characters, and the decoder's last state."""
        q, h = self.decoder(self.target_embed(y_in), h)
        if self.attention:
            context = F.scaled_dot_product_attention(q, memory, memory, attn_mask=mask)
            q = zg.cat([q, context], dim=-1)
        return self.head(q), h

    def forward(self, x, y_in):
        memory, h, mask = self.encode(x)
        return self.decode(y_in, memory, mask, h)[0]


def shift_right(Y):
    """Teacher forcing's decoder input: <start> followed by the target's first nine ids."""
    return np.concatenate([np.full((len(Y), 1), START), Y[:, :-1]], axis=1)


def train(model, steps: int):
    """Adam, lr 3e-3, cross-entropy over all ten characters, gradients clipped to norm 1."""
    opt = optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(steps):
        i = step * args.batch_size % max(1, len(X_train) - args.batch_size)
        xb, yb = X_train[i : i + args.batch_size], Y_train[i : i + args.batch_size]
        logits = model(zg.tensor(xb), zg.tensor(shift_right(yb)))
        loss = F.cross_entropy(logits.reshape(-1, len(TARGET_CHARS)), zg.tensor(yb.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses


# %% [markdown]
# ## Greedy decoding
#
# At test time there is no true previous character to read: the decoder starts from `<start>`,
# takes the highest-scoring character, feeds it back in, and repeats ten times (one GRU step at a
# time, carrying its state). One wrong character early can derail the rest, which is why the
# score counts whole dates.

# %%


def greedy(model, X):
    """The models' answers (N, 10) for sources X, one character at a time."""
    with zg.no_grad():
        memory, h, mask = model.encode(zg.tensor(X))
        token = np.full((len(X), 1), START)
        answer = []
        for _ in range(TARGET_LENGTH):
            logits, h = model.decode(zg.tensor(token), memory, mask, h)
            token = logits.data.argmax(-1)
            answer.append(token[:, 0])
    return np.stack(answer, axis=1)


def accuracy(model) -> float:
    """Share of the test dates with all ten characters right."""
    return float((greedy(model, X_test) == Y_test).all(axis=1).mean())


# %% [markdown]
# ## Train both
#
# Same data, same steps, same seed, same optimizer. The loss is nats per character; a model that
# guesses among the 11 characters scores ln 11 = 2.40.

# %%
print(f"\n{steps} steps of {args.batch_size} dates each, GRUs of {args.hidden} units")
models = {}
for name, attention in (("plain", False), ("attention", True)):
    zg.manual_seed(args.seed)
    model = Seq2Seq(args.hidden, attention)
    t0 = time.perf_counter()
    losses = train(model, steps)
    seconds = time.perf_counter() - t0
    acc = accuracy(model)
    models[name] = model
    n_params = sum(p.numel() for p in model.parameters())
    label = "with attention   " if attention else "without attention"
    print(f"  {label}: {n_params:,} parameters, final loss {np.mean(losses[-20:]):.4f}, "
          f"exact match {acc * 100:.1f}% of {len(X_test):,} dates ({seconds:.0f} s)")  # fmt: skip
    result[f"accuracy_{name}"] = acc
    result[f"losses_{name}"] = losses
    result[f"seconds_{name}"] = seconds
result["chance_loss"] = math.log(len(TARGET_CHARS))

answers = greedy(models["attention"], X_test[:8])
plain_answers = greedy(models["plain"], X_test[:8])
print("\n  source                            with attention   without")
for s, a, p in zip(test_sources, answers, plain_answers):
    print(f"  {s!r:32}  {decode(a):15}  {decode(p)}")
result["examples"] = [(s, decode(a)) for s, a in zip(test_sources, answers)]

# %% [markdown]
# ## Attention by hand, and where the model looked
#
# The weights are three lines of NumPy on the model's own states. They must give the same context
# as `F.scaled_dot_product_attention`; then the (10, S) matrix a_ts is the picture of the
# alignment: for each output character (rows), how much each input character (columns) weighed.
# A good model reads the year's digits while writing the year, the month's name while writing the
# month, and so on, whatever order the format puts them in.

# %%


def attention_by_hand(q, keys, values, mask):
    """softmax(q k^T / sqrt(H)) over the real (unmasked) keys, and the context it gives."""
    scores = q @ keys.swapaxes(-1, -2) / math.sqrt(q.shape[-1])  # (N, T, S)
    scores = np.where(mask, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights, weights @ values


model = models["attention"]
example = 0  # the first test date
x = X_test[example : example + 1]
y_in = shift_right(greedy(model, x))
with zg.no_grad():
    memory, h, mask = model.encode(zg.tensor(x))
    q, _ = model.decoder(model.target_embed(zg.tensor(y_in)), h)
    context = F.scaled_dot_product_attention(q, memory, memory, attn_mask=mask)
weights, by_hand = attention_by_hand(q.data, memory.data, memory.data, mask.data)
difference = float(np.abs(by_hand - context.data).max())
print(f"\nAttention by hand vs F.scaled_dot_product_attention: max difference {difference:.1e}")
result["attention_difference"] = difference

source = test_sources[example]
real = weights[0][:, SOURCE_LENGTH - len(source) :]  # (10, len(source)): drop the padding
output = decode(greedy(model, x)[0])
print(f"  {source!r} -> {output!r}; the source character each output character weighed most:")
print("  " + "  ".join(f"{o}<-{source[j]!r}" for o, j in zip(output, real.argmax(1))))
result["weights"] = real
result["source"], result["output"] = source, output

if plt is not None:
    fig, ax = plt.subplots(figsize=(1.0 + 0.32 * len(source), 4.2))
    ax.imshow(real, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(source)), list(source))
    ax.set_yticks(range(TARGET_LENGTH), list(output))
    ax.set_xlabel("source character (keys)")
    ax.set_ylabel("output character (queries)")
    ax.set_title(f"Where the decoder looked: {source!r}", fontsize=10)
    fig.tight_layout()
    path = out / "18_attention.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    show(path)
    result["png"] = str(path)
    print(f"\nWrote {path}")
result["seconds"] = time.perf_counter() - start
print(f"{result['seconds']:.0f} s in all")

# %%
skipped.report()
