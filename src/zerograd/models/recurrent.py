"""The course's recurrent networks: ``RowLSTM`` reads an image row by row, ``CharLSTM`` is a
character-level language model and ``generate`` samples text from it.

``CharLSTM`` reads character ids and predicts the next character at every step:
``Embedding -> LSTM (batch_first) -> Linear`` to one logit per character of the vocabulary.
It is trained with truncated backpropagation through time (``fit(..., stateful=True)`` over a
``data.text.BPTTLoader``); lesson 16 trains it on tiny-shakespeare.
"""

from __future__ import annotations

import json

import numpy

from .. import backend, nn
from ..autograd import Tensor, no_grad
from ..data.text import CharVocab
from ..functional import softmax
from ..io import load, load_metadata, save

__all__ = ["RowLSTM", "CharLSTM", "generate", "save_language_model", "load_language_model"]


class RowLSTM(nn.Module):
    """Classify an image read as a sequence of its rows: (N, 1, 28, 28) -> 28 steps of 28 pixels
    -> LSTM(hidden_size, num_layers) -> the last step's hidden state -> Linear(num_classes).

    The LSTM sees one row per step and must carry what it saw in its state to the end.

    Examples
    --------
    >>> import zerograd
    >>> RowLSTM()(zerograd.zeros(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(
        self,
        input_size: int = 28,
        hidden_size: int = 128,
        num_layers: int = 1,
        num_classes: int = 10,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden_size, num_classes)
        self.config = {
            "input_size": input_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "num_classes": num_classes,
            "dropout": dropout,
        }

    def forward(self, x):
        if x.ndim == 4:  # (N, 1, H, W) images: the rows are the steps
            x = x.reshape(x.shape[0], x.shape[2], x.shape[3])
        if x.ndim != 3 or x.shape[2] != self.config["input_size"]:
            size = self.config["input_size"]
            raise ValueError(
                f"RowLSTM: input has shape {x.shape} but must be (N, L, {size}) or "
                f"(N, 1, L, {size}) images read row by row."
            )
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class CharLSTM(nn.Module):
    """Embedding(vocab_size, embedding_dim) -> LSTM(num_layers, hidden_size) -> Linear(vocab_size).

    ``forward(x, state=None)`` takes ids (N, L) and the LSTM state (h, c) (or None for zeros) and
    returns (logits (N, L, vocab_size), the new state), so a caller can carry the state along a
    text. ``config`` rebuilds it: ``CharLSTM(**model.config)``.

    Examples
    --------
    >>> import zerograd
    >>> model = CharLSTM(vocab_size=65, embedding_dim=16, hidden_size=32)
    >>> logits, (h, c) = model(zerograd.tensor([[1, 2, 3]]))
    >>> logits.shape, h.shape
    ((1, 3, 65), (1, 1, 32))
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 64,
        hidden_size: int = 256,
        num_layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(
            embedding_dim, hidden_size, num_layers, batch_first=True, dropout=dropout
        )
        self.head = nn.Linear(hidden_size, vocab_size)
        self.config = {
            "vocab_size": vocab_size,
            "embedding_dim": embedding_dim,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "dropout": dropout,
        }

    def forward(self, x, state=None):
        out, state = self.lstm(self.embedding(x), state)
        return self.head(out), state


def generate(
    model,
    vocab,
    prompt: str,
    length: int,
    temperature: float = 1.0,
    generator: numpy.random.Generator | None = None,
) -> str:
    """``prompt`` followed by ``length`` characters sampled from ``model`` one at a time.

    The prompt is read in one pass to set the state; then each step samples the next character
    from softmax(logits / temperature) and feeds it back. Temperature below 1 sharpens the
    distribution (safer, more repetitive text), above 1 flattens it; 0 takes the most likely
    character every time. Randomness comes from ``generator`` (default: the library's seeded one).
    """
    if not prompt:
        raise ValueError("generate: the prompt must hold at least one character.")
    if not isinstance(length, int) or length < 0:
        raise ValueError(f"generate: length must be a non-negative int, got {length!r}.")
    if temperature < 0:
        raise ValueError(f"generate: temperature must be >= 0, got {temperature}.")
    rng = generator or backend.generator()
    ids = vocab.encode(prompt)
    out = []
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            logits, state = model(Tensor(ids[None]), None)
            for _ in range(length):
                last = logits.data[0, -1].astype(numpy.float64)
                if temperature == 0:
                    nxt = int(last.argmax())
                else:
                    p = softmax(Tensor(last / temperature), dim=0).data
                    nxt = int(rng.choice(len(p), p=p / p.sum()))
                out.append(nxt)
                logits, state = model(Tensor(numpy.array([[nxt]])), state)
    finally:
        model.train(was_training)
    return prompt + vocab.decode(out)


def save_language_model(model: CharLSTM, vocab: CharVocab, path, **extra) -> None:
    """Write a CharLSTM's weights with its config and vocabulary in the metadata (and any
    ``extra`` strings, such as the validation loss), so ``load_language_model`` and
    ``zerograd generate`` can rebuild it."""
    metadata = {
        "model": "char-lstm",
        "model_config": json.dumps(model.config),
        "vocab": json.dumps(vocab.chars),
        **{k: str(v) for k, v in extra.items()},
    }
    save(model.state_dict(), path, metadata=metadata)


def load_language_model(path):
    """(CharLSTM in eval mode, its CharVocab, the file's metadata) from ``save_language_model``'s
    file."""
    meta = load_metadata(path)
    if meta.get("model") != "char-lstm" or "vocab" not in meta:
        raise ValueError(
            f"load_language_model: {path} is not a character language model's weights (its "
            f"metadata has model={meta.get('model')!r}); give a file written by "
            "save_language_model, e.g. by lesson 16."
        )
    model = CharLSTM(**json.loads(meta["model_config"]))
    model.load_state_dict(load(path))
    return model.eval(), CharVocab(json.loads(meta["vocab"])), meta
