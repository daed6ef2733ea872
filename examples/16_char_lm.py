"""Lesson 16: a character-level language model writes Shakespeare.

tiny-shakespeare (1,115,394 characters, 65 distinct) is split 90% / 10% into training and
validation text. ``models.CharLSTM`` (an embedding, a 2-layer LSTM and a linear layer to 65
logits) learns to predict each next character. The text is cut into 64 parallel streams that
the model walks 100 characters at a time (``data.text.BPTTLoader``), carrying its LSTM state from
chunk to chunk and cutting the gradient between chunks: truncated backpropagation through time
(``fit(..., stateful=True)``). The loss is the cross-entropy in nats per character: a model that
knows nothing scores ln 65 = 4.17; the target here is <= 1.55 on the validation text. Then it
writes: ``generate`` samples one character at a time from softmax(logits / temperature).

The trained weights (with the vocabulary and config in their metadata) go to
``OUT/char_lstm.safetensors``; ``zerograd generate --weights OUT/char_lstm.safetensors --prompt
"ROMEO:" --length 300 --temperature 0.8`` samples from them.

Run it with ``python examples/16_char_lm.py`` or ``zerograd lesson 16_char_lm`` (needs
``tinyshakespeare/input.txt`` under ``ZEROGRAD_DATA``); ``--quick`` trains a small model for one
epoch on the first 200,000 characters, ``--out DIR``, ``--seed N``, ``--epochs N`` (10),
``--hidden N`` (384), ``--batch-size N`` (64 streams).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from zerograd.lessons._skipped import Skipped

import zerograd as zg
from zerograd import models, nn, optim
from zerograd.data.text import BPTTLoader, CharVocab
from zerograd.train import LRSchedulerCallback, ModelCheckpoint, fit

PROMPT = "ROMEO:"


def next_char_loss(vocab_size: int):
    """Cross-entropy of (N, L, V) logits against (N, L) next characters, nats per character."""
    ce = nn.CrossEntropyLoss()

    def loss(logits, targets):
        return ce(logits.reshape(-1, vocab_size), targets.reshape(-1))

    return loss


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small model, 1 epoch, 200k chars")
    parser.add_argument("--out", default="runs/lessons/16_char_lm", help="folder for the weights")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and sampling")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (10; quick 1)")
    parser.add_argument("--hidden", type=int, default=None, help="LSTM units (384; quick 64)")
    parser.add_argument("--batch-size", type=int, default=64, help="parallel streams (64)")
    args = parser.parse_args(argv)
    skipped = Skipped()  # what this machine lacks (the text file): one line at the end
    text = skipped.tiny_shakespeare("the lesson: training and sampling a character model")
    if text is None:  # no sample of tiny-shakespeare ships with the package: nothing to train on
        skipped.report()
        return {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs = args.epochs or (1 if args.quick else 10)
    hidden = args.hidden or (64 if args.quick else 384)
    result = {}

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

    zg.manual_seed(args.seed)
    model = models.CharLSTM(
        len(vocab), 64, hidden, num_layers=2, dropout=0.0 if args.quick else 0.2
    )
    n_params = sum(p.numel() for p in model.parameters())
    print(f"\nCharLSTM: embedding 64, 2 LSTM layers of {hidden}, {n_params:,} parameters; Adam")
    print(f"  lr 2e-3 with cosine decay, {epochs} epochs, gradients clipped to norm 1")
    opt = optim.Adam(model.parameters(), lr=2e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    callbacks = [LRSchedulerCallback(sched), ModelCheckpoint(out, monitor="val_loss", mode="min")]
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

    path = out / "char_lstm.safetensors"
    models.save_language_model(
        model, vocab, path, val_loss=f"{history.last['val_loss']:.4f}", epochs=epochs
    )
    result["weights"] = str(path)
    print(f"  wrote {path}")

    print("\nSamples (prompt 'ROMEO:', 300 characters):")
    samples = {}
    for temperature in (0.5, 0.8, 1.0):
        zg.manual_seed(args.seed)
        samples[temperature] = models.generate(model, vocab, PROMPT, 300, temperature)
        print(f"\n--- temperature {temperature} ---\n{samples[temperature]}")
    result["samples"] = samples
    skipped.report()
    return result


if __name__ == "__main__":
    main()
