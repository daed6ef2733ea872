"""Text for character-level language models: a character vocabulary, tiny-shakespeare, and the
loader that cuts a long text into the chunks of truncated backpropagation through time.

``BPTTLoader`` lays the encoded text out as ``batch_size`` parallel streams (the text cut into
``batch_size`` equal pieces, one per row) and walks along them ``seq_len`` characters at a time, so
row b of one chunk continues row b of the previous one: a recurrent model can carry its state from
chunk to chunk (``fit(..., stateful=True)`` does, detaching it between chunks).
"""

from __future__ import annotations

from pathlib import Path

import numpy

from ..autograd import Tensor
from .files import search_folders, sha256_file

__all__ = ["CharVocab", "BPTTLoader", "tiny_shakespeare", "find_tiny_shakespeare", "SHA256"]

# the file Karpathy's char-rnn published (1,115,394 bytes of ASCII)
SHA256 = {"tinyshakespeare": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"}


class CharVocab:
    """A character vocabulary: character <-> integer id, ids in sorted character order.

    Examples
    --------
    >>> vocab = CharVocab.from_text("hello world")
    >>> len(vocab), vocab.chars
    (8, ' dehlorw')
    >>> vocab.encode("hold").tolist()
    [3, 5, 4, 1]
    >>> vocab.decode([3, 5, 4, 1])
    'hold'
    >>> vocab.encode("hi!")
    Traceback (most recent call last):
    ...
    ValueError: CharVocab: 2 characters are not in the vocabulary of 8: 'i', '!'...
    """

    def __init__(self, chars: str):
        if len(set(chars)) != len(chars) or not chars:
            raise ValueError(f"CharVocab: chars must be distinct and non-empty, got {chars!r}.")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of every character in ``text``."""
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> numpy.ndarray:
        """``text`` as int64 ids."""
        try:
            return numpy.fromiter((self.index[c] for c in text), dtype=numpy.int64, count=len(text))
        except KeyError:
            missing = list(dict.fromkeys(c for c in text if c not in self.index))
            raise ValueError(
                f"CharVocab: {len(missing)} characters are not in the vocabulary of {len(self)}: "
                f"{', '.join(map(repr, missing[:10]))}. Use text made of the training text's "
                "characters."
            ) from None

    def decode(self, ids) -> str:
        """Ids (any integer sequence or array) back to text."""
        ids = numpy.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"CharVocab: ids must be in [0, {len(self) - 1}], got {ids.tolist()}.")
        return "".join(self.chars[i] for i in ids.tolist())

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters)"


def find_tiny_shakespeare(root=None) -> Path | None:
    """The path of tiny-shakespeare's ``input.txt``, or None when it is not found.

    Looked for in ``root``, then ``$ZEROGRAD_DATA``, then the cache, each as
    ``tinyshakespeare/input.txt`` (or ``input.txt`` directly in the folder).
    """
    for folder, _ in search_folders("tinyshakespeare", root):
        if (folder / "input.txt").is_file():
            return folder / "input.txt"
    return None


def tiny_shakespeare(root=None, verify: bool = True) -> str:
    """The text of tiny-shakespeare (40,000 lines of Shakespeare, 1,115,394 characters).

    Raises FileNotFoundError listing every folder searched when ``input.txt`` is absent, and
    ValueError when its SHA-256 is not the published file's (``verify=False`` skips the check).
    """
    path = find_tiny_shakespeare(root)
    if path is None:
        places = "\n".join(f"  {f}  ({o})" for f, o in search_folders("tinyshakespeare", root))
        raise FileNotFoundError(
            "tiny_shakespeare: input.txt was not found. Looked in:\n"
            f"{places}\nSet ZEROGRAD_DATA to a folder holding tinyshakespeare/input.txt (the "
            "file of Karpathy's char-rnn) or pass root='folder'."
        )
    if verify and (got := sha256_file(path)) != SHA256["tinyshakespeare"]:
        raise ValueError(
            f"tiny_shakespeare: {path} has SHA-256 {got}, not the published file's "
            f"{SHA256['tinyshakespeare']}: it is truncated or another text. Copy the original, "
            "or pass verify=False to use it anyway."
        )
    return path.read_text(encoding="utf-8")


class BPTTLoader:
    """(x, y) chunks of ``batch_size`` parallel streams of ids, ``seq_len`` steps at a time.

    The ids are cut into ``batch_size`` equal streams (the remainder dropped), stream b being row
    b; chunk k is ``x = streams[:, k*L : (k+1)*L]`` and ``y`` the same shifted by one character
    (the next character to predict). Chunks come in order, so state carried from one chunk to the
    next continues the same text. x and y are int64 Tensors of shape (batch_size, L); the last
    chunk may be shorter.

    Examples
    --------
    >>> loader = BPTTLoader(numpy.arange(20), batch_size=2, seq_len=4)
    >>> len(loader)
    3
    >>> x, y = next(iter(loader))
    >>> x.tolist(), y.tolist()
    ([[0, 1, 2, 3], [10, 11, 12, 13]], [[1, 2, 3, 4], [11, 12, 13, 14]])
    """

    def __init__(self, ids, batch_size: int, seq_len: int):
        ids = numpy.asarray(ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise ValueError(
                f"BPTTLoader: ids must be a 1-D integer array, got {ids.dtype} {ids.shape}."
            )
        for name, v in (("batch_size", batch_size), ("seq_len", seq_len)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"BPTTLoader: {name} must be a positive int, got {v!r}.")
        per_stream = len(ids) // batch_size
        if per_stream < 2:
            raise ValueError(
                f"BPTTLoader: {len(ids)} ids make streams of {per_stream} for batch_size="
                f"{batch_size}; each stream needs at least 2 (an input and its next id)."
            )
        self.streams = ids[: per_stream * batch_size].astype(numpy.int64).reshape(batch_size, -1)
        self.batch_size, self.seq_len = batch_size, seq_len

    def __len__(self) -> int:
        return -(-(self.streams.shape[1] - 1) // self.seq_len)

    def __iter__(self):
        T = self.streams.shape[1] - 1  # the last id of a stream is only ever a target
        for start in range(0, T, self.seq_len):
            stop = min(start + self.seq_len, T)
            yield (
                Tensor(self.streams[:, start:stop]),
                Tensor(self.streams[:, start + 1 : stop + 1]),
            )

    def __repr__(self) -> str:
        return (
            f"BPTTLoader({self.streams.size} ids as {self.batch_size} streams, "
            f"seq_len={self.seq_len}, {len(self)} chunks)"
        )
