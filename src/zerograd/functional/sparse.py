"""Lookup tables: ``embedding`` (rows of a weight matrix picked by integer indices)."""

from __future__ import annotations

import numbers

from ..autograd import Function, Tensor
from ..backend import array_module
from .args import as_tensor

__all__ = ["embedding"]


class Embedding(Function):
    """Row lookup (a gather): y[...] = W[idx[...]].

    gW[v] = the sum of gy[...] over every position where idx[...] == v (a scatter-add, so repeated
    indices add up), and gW[padding_idx] = 0: the padding row gets no gradient.
    idx: (*) integers in [0, V) (not differentiable), W: (V, D) -> y: (*, D)
    """

    def __init__(self, padding_idx: int | None):
        self.padding_idx = padding_idx

    def forward(self, idx, W):
        self.save_for_backward(idx)
        self.num_embeddings = W.shape[0]
        return W[idx]

    def backward(self, gy):
        (idx,) = self.saved
        xp = array_module(gy)
        D = gy.shape[-1]
        gW = xp.zeros((self.num_embeddings, D), dtype=gy.dtype)
        flat = idx.reshape(-1)
        if flat.size:
            # the scatter-add by sorting: equal indices become neighbours and reduceat sums each
            # run, 2 to 6 times faster than xp.add.at(gW, flat, gy) when indices repeat
            order = xp.argsort(flat, kind="stable")
            rows = flat[order]
            starts = xp.flatnonzero(xp.concatenate((xp.ones(1, bool), rows[1:] != rows[:-1])))
            gW[rows[starts]] = xp.add.reduceat(gy.reshape(-1, D)[order], starts, axis=0)
        if self.padding_idx is not None:
            gW[self.padding_idx] = 0
        return None, gW


def embedding(input, weight, padding_idx: int | None = None) -> Tensor:
    """Pick rows of ``weight`` by integer indices (``torch.nn.functional.embedding``).

    Parameters
    ----------
    input : Tensor
        Integer indices of any shape (*), each in [0, num_embeddings).
    weight : Tensor
        (num_embeddings, embedding_dim).
    padding_idx : int or None
        A row that gets no gradient (it stays as it is while training); negative counts from the
        end, as in PyTorch. The forward pass still returns that row.

    Returns
    -------
    Tensor
        (*, embedding_dim).

    Raises
    ------
    TypeError
        For non-integer indices.
    IndexError
        For an index outside [0, num_embeddings), naming the value.
    ValueError
        For a weight that is not 2-D or a padding_idx outside the table.

    Examples
    --------
    >>> import zerograd
    >>> W = zerograd.arange(6.0).reshape(3, 2)
    >>> embedding(zerograd.tensor([[2, 0]]), W).tolist()
    [[[4.0, 5.0], [0.0, 1.0]]]
    >>> embedding(zerograd.tensor([3]), W)
    Traceback (most recent call last):
    ...
    IndexError: embedding: index 3 is out of range for a table of 3 rows; indices must be in [0, 2].
    """
    idx, W = as_tensor(input), as_tensor(weight)
    if idx.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: indices must be integers, got {idx.dtype}. Convert them with .long()."
        )
    if W.ndim != 2:
        raise ValueError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {W.shape}."
        )
    V = W.shape[0]
    if padding_idx is not None:
        if (
            isinstance(padding_idx, bool)
            or not isinstance(padding_idx, numbers.Integral)
            or not -V <= padding_idx < V
        ):
            raise ValueError(
                f"embedding: padding_idx must be an int in [{-V}, {V - 1}] for a table of {V} "
                f"rows, got {padding_idx!r}."
            )
        padding_idx = int(padding_idx) % V
    if idx.numel():
        lo, hi = int(idx.data.min()), int(idx.data.max())
        if lo < 0 or hi >= V:
            raise IndexError(
                f"embedding: index {lo if lo < 0 else hi} is out of range for a table of {V} "
                f"rows; indices must be in [0, {V - 1}]."
            )
    return Embedding(padding_idx)(idx, W)
