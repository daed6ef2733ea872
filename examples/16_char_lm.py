# %% [markdown]
# # Lesson 16: a character-level language model writes Shakespeare
#
# A language model gives, at every position of a text, the probabilities of the next character,
# p(c_{t+1} | c_1, ..., c_t). Trained to predict text, it can then write: draw a character from
# those probabilities, feed it back in, and repeat. The lesson is Karpathy's char-rnn experiment,
# built from the pieces of the last two lessons.
#
# It needs `tinyshakespeare/input.txt` under `ZEROGRAD_DATA` (no sample of it ships with the
# package: without it the lesson says so and ends). `--quick` trains a small model for one epoch
# on the first 200,000 characters. The trained weights go to `OUT/char_lstm.safetensors`, and
# `zerograd generate --weights OUT/char_lstm.safetensors --prompt "ROMEO:"` samples from them.
#
# Run it as a script with `python examples/16_char_lm.py` or `zerograd lesson 16_char_lm` (`--quick`
# for the short run, `--out DIR` for the pictures), or as a notebook: `zerograd lesson 16_char_lm
# --notebook`.

# %%
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import EndLesson, parse_args

import zerograd as zg
from zerograd import models, nn, optim
from zerograd.data.text import BPTTLoader, CharVocab
from zerograd.train import LRSchedulerCallback, ModelCheckpoint, fit

parser = argparse.ArgumentParser(
    description="Lesson 16: a character-level language model writes Shakespeare."
)
parser.add_argument("--quick", action="store_true", help="a small model, 1 epoch, 200k chars")
parser.add_argument("--out", default="runs/lessons/16_char_lm", help="folder for the weights")
parser.add_argument("--seed", type=int, default=0, help="seed for weights and sampling")
parser.add_argument("--epochs", type=int, default=None, help="epochs (10; quick 1)")
parser.add_argument("--hidden", type=int, default=None, help="LSTM units (384; quick 64)")
parser.add_argument("--batch-size", type=int, default=64, help="parallel streams (64)")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (the text file): one line at the end
text = skipped.tiny_shakespeare("the lesson: training and sampling a character model")
if text is None:  # no sample of tiny-shakespeare ships with the package: nothing to train on
    skipped.report()
    raise EndLesson()  # the lesson ends here: exit status 0, and an empty result
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
epochs = args.epochs or (1 if args.quick else 10)
hidden = args.hidden or (64 if args.quick else 384)
result = {}

# %% [markdown]
# ## The loss
#
# The cross-entropy of the 65 logits at every position against the character that comes next,
# averaged over all N x L positions, with the natural log:
#
#     loss = -(1 / NL) sum_{n,t} ln p(c_{n,t+1} | c_{n,1}, ..., c_{n,t})      nats per character
#
# A model that knows nothing gives every character 1/65: loss = ln 65 = 4.17, the number to beat.
# Divided by ln 2 it is bits per character; e^loss is the perplexity. `next_char_loss` flattens
# (N, L, 65) logits and (N, L) targets for `nn.CrossEntropyLoss`.

# %%
PROMPT = "ROMEO:"


def next_char_loss(vocab_size: int):
    """Cross-entropy of (N, L, V) logits against (N, L) next characters, nats per character."""
    ce = nn.CrossEntropyLoss()

    def loss(logits, targets):
        return ce(logits.reshape(-1, vocab_size), targets.reshape(-1))

    return loss


# %% [markdown]
# ## The data: a vocabulary and parallel streams
#
# `CharVocab.from_text` gives each distinct character an id, in sorted order: 65 of them. The first
# 90% of the text is training text, the last 10% validation text: a cut, not a shuffle.
#
# The model should read long, unbroken text (so its state means something) and still train on
# batches. `data.text.BPTTLoader(ids, batch_size, seq_len)` cuts the text into `batch_size` equal
# pieces, one per row, and walks along all the rows `seq_len` characters at a time; the target y is
# x shifted by one character. With the alphabet, 3 streams and `seq_len` 4:
#
#     streams   row 0   a b c d | e f g h
#               row 1   i j k l | m n o p
#               row 2   q r s t | u v w x
#                       chunk 1 | chunk 2
#
# Row b of chunk k + 1 continues row b of chunk k: the state after "abcd" is the right one to start
# "efg" with.

# %%
vocab = CharVocab.from_text(text)
ids = vocab.encode(text)
if args.quick:
    ids = ids[:200_000]
split = int(0.9 * len(ids))
train_ids, val_ids = ids[:split], ids[split:]
batch, seq_len = (32, 50) if args.quick else (args.batch_size, 100)
train_loader = BPTTLoader(train_ids, batch, seq_len)
val_loader = BPTTLoader(val_ids, 16, seq_len)
print(f"tiny-shakespeare: {len(text):,} characters, a vocabulary of {len(vocab)}")
print(f"  training on {len(train_ids):,}, validating on {len(val_ids):,}")
print(f"  {train_loader}; a model that knows nothing scores ln {len(vocab)} = "
      f"{math.log(len(vocab)):.2f} nats per character")  # fmt: skip

# %% [markdown]
# ## The model and truncated backpropagation through time
#
# `models.CharLSTM`: `Embedding(65, 64)`, a 2-layer LSTM with dropout between the layers, and a
# `Linear` to 65 logits at every step. Backpropagating through a whole stream would mean one graph
# thousands of steps long. Truncated BPTT keeps the state's values from chunk to chunk but cuts the
# gradient at the chunk's start: `fit(..., stateful=True)` calls `model(x, state)`, starts each
# epoch with `state = None` (zeros), and detaches the returned state before the next chunk.
#
#     (h, c) at the end of chunk k    --values-->    the start of chunk k + 1  (memory: the stream)
#     the gradient of chunk k's loss  --stops at-->  the start of chunk k      (backprop: a chunk)
#
# The rest is the usual recipe: Adam with lr 2e-3 and a cosine schedule, gradients clipped to norm
# 1, and `ModelCheckpoint` keeping `last.safetensors` and `best.safetensors`.

# %%
zg.manual_seed(args.seed)
model = models.CharLSTM(len(vocab), 64, hidden, num_layers=2, dropout=0.0 if args.quick else 0.2)
n_params = sum(p.numel() for p in model.parameters())
print(f"\nCharLSTM: embedding 64, 2 LSTM layers of {hidden}, {n_params:,} parameters; Adam")
print(f"  lr 2e-3 with cosine decay, {epochs} epochs, gradients clipped to norm 1")
opt = optim.Adam(model.parameters(), lr=2e-3)
sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
callbacks = [
    LRSchedulerCallback(sched),
    ModelCheckpoint(out, monitor="val_loss", mode="min"),
]
start = time.perf_counter()
history = fit(
    model,
    next_char_loss(len(vocab)),
    opt,
    train_loader,
    epochs=epochs,
    val_loader=val_loader,
    metrics=(),
    callbacks=callbacks,
    stateful=True,
    clip_grad_norm=1.0,
    progress=not args.quick,
)
seconds = time.perf_counter() - start
best = min(history["val_loss"])
print(f"\n  validation loss {history.last['val_loss']:.4f} nats/char after {epochs} epochs "
      f"(best {best:.4f}), {seconds / 60:.1f} min of training")  # fmt: skip
result.update(val_loss=history.last["val_loss"], best_val_loss=best, seconds=seconds)
result["val_losses"] = history["val_loss"]

# %% [markdown]
# ## Save the weights
#
# With the model's config and the vocabulary in the metadata (`models.save_language_model`), so
# `zerograd generate` needs nothing but the file.

# %%
path = out / "char_lstm.safetensors"
models.save_language_model(
    model, vocab, path, val_loss=f"{history.last['val_loss']:.4f}", epochs=epochs
)
result["weights"] = str(path)
print(f"  wrote {path}")

# %% [markdown]
# ## Sampling with a temperature
#
# `models.generate(model, vocab, prompt, length, temperature)` reads the prompt to set the state,
# then, one character at a time, divides the last step's logits z by the temperature T and draws
# the next character from
#
#     p_i = exp(z_i / T) / sum_j exp(z_j / T)
#
# T = 1 samples the model's own probabilities; T < 1 sharpens them (safer, more repetitive text);
# T > 1 flattens them (more surprises, more misspellings).

# %%
print("\nSamples (prompt 'ROMEO:', 300 characters):")
samples = {}
for temperature in (0.5, 0.8, 1.0):
    zg.manual_seed(args.seed)
    samples[temperature] = models.generate(model, vocab, PROMPT, 300, temperature)
    print(f"\n--- temperature {temperature} ---\n{samples[temperature]}")
result["samples"] = samples

# %%
skipped.report()
