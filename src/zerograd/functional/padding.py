"""Padding: ``pad`` (``torch.nn.functional.pad``), constant, reflect, replicate and circular.

Every mode is a gather along each padded dimension: output position j of a dimension of size n
reads input position idx[j], where idx is ``arange(n)`` padded with the mode (reflect mirrors
without repeating the edge, replicate repeats the edge, circular wraps around), and -1 marks a
position filled with the constant. The gradient is the matching scatter-add: each input position
collects the gradients of every output position that read it.
"""

from __future__ import annotations

import numbers

from ..autograd import Function, Tensor
from ..backend import array_module
from .args import as_tensor

__all__ = ["pad"]

_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _index(xp, n: int, before: int, after: int, mode: str):
    """Which input position each output position of one dimension reads (-1: the constant).

    Output position j stands for input position s = j - before (negative pads crop); s outside
    [0, n) is the constant's -1, the nearest edge (replicate), s mirrored at the edges without
    repeating them (reflect), or wrapped around what the crop left (circular)."""
    s = xp.arange(-before, n + after)
    if mode == "constant":
        return xp.where((s >= 0) & (s < n), s, -1)
    if mode == "replicate":
        return xp.clip(s, 0, n - 1)
    if mode == "circular":  # negative pads crop first; the wrap is within what is left
        c0, c1 = max(-before, 0), max(-after, 0)
        return c0 + (xp.arange(n + before + after) - max(before, 0)) % (n - c0 - c1)
    if n == 1:  # reflect: a single element mirrors onto itself
        return xp.zeros_like(s)
    m = s % (2 * (n - 1))
    return xp.where(m < n, m, 2 * (n - 1) - m)


class Pad(Function):
    """y = x padded along its last len(pad) // 2 dimensions (see the module docstring).

    gx[..., i, ...] = sum of gy[..., j, ...] over the j with idx[j] = i, dimension by dimension.
    """

    def __init__(self, pad: tuple, mode: str, value: float):
        self.pad, self.mode, self.value = pad, mode, value

    def forward(self, x):
        xp = array_module(x)
        self.in_shape = x.shape
        indices = []
        y = x
        for k in range(len(self.pad) // 2):
            axis = x.ndim - 1 - k
            idx = _index(xp, x.shape[axis], self.pad[2 * k], self.pad[2 * k + 1], self.mode)
            indices.append(idx)
            if not (idx >= 0).any():  # nothing of the input is left: all constant
                shape = list(y.shape)
                shape[axis] = len(idx)
                y = xp.full(shape, self.value, dtype=x.dtype)
                continue
            y = xp.take(y, xp.maximum(idx, 0), axis=axis)
            if self.mode == "constant" and (idx < 0).any():
                fill = [slice(None)] * y.ndim
                fill[axis] = idx < 0
                y[tuple(fill)] = self.value
        self.save_for_backward(*indices)
        return y

    def backward(self, gy):
        xp = array_module(gy)
        g = gy
        for k, idx in reversed(list(enumerate(self.saved))):
            axis = gy.ndim - 1 - k
            keep = idx >= 0
            moved = xp.moveaxis(g, axis, 0)[keep]
            out = xp.zeros((self.in_shape[axis],) + moved.shape[1:], dtype=gy.dtype)
            xp.add.at(out, idx[keep], moved)
            g = xp.moveaxis(out, 0, axis)
        return g


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last dimensions of ``input`` (``torch.nn.functional.pad``).

    Parameters
    ----------
    input : Tensor
    pad : tuple of int
        (left, right) for the last dimension, then (top, bottom) for the one before, and so on:
        an even number of ints, at most 2 * input.ndim. Negative values crop.
    mode : {"constant", "reflect", "replicate", "circular"}
        "reflect" mirrors without repeating the edge (each pad < the dimension's size),
        "replicate" repeats the edge, "circular" wraps around (each pad <= the size).
    value : float, optional
        The fill of "constant" mode (0 if None).

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[1.0, 2.0, 3.0]])
    >>> pad(x, (1, 2)).tolist()
    [[0.0, 1.0, 2.0, 3.0, 0.0, 0.0]]
    >>> pad(x, (2, 1), mode="reflect").tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    >>> pad(x, (1, 1), mode="replicate").tolist(), pad(x, (1, 1), mode="circular").tolist()
    ([[1.0, 1.0, 2.0, 3.0, 3.0]], [[3.0, 1.0, 2.0, 3.0, 1.0]])
    """
    x = as_tensor(input)
    pads = tuple(pad) if isinstance(pad, (tuple, list)) else None
    if (
        pads is None
        or len(pads) % 2
        or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in pads)
    ):
        raise TypeError(
            f"pad: pad must be a tuple of an even number of ints (left, right, top, bottom, ...), "
            f"got {pad!r}."
        )
    if len(pads) // 2 > x.ndim:
        raise ValueError(
            f"pad: pad {pads} pads {len(pads) // 2} dimensions but the input has shape {x.shape} "
            f"({x.ndim} dimensions)."
        )
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}."
        )
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: value is only for mode='constant', got value={value!r}.")
    for k in range(len(pads) // 2):
        n, before, after = x.shape[x.ndim - 1 - k], pads[2 * k], pads[2 * k + 1]
        if n + before + after < 0:
            raise ValueError(
                f"pad: pads ({before}, {after}) crop dimension {x.ndim - 1 - k} of size {n} of "
                f"shape {x.shape} below size 0."
            )
        left = n - max(-before, 0) - max(-after, 0)
        if mode == "circular" and left <= 0 and n + before + after > 0:
            raise ValueError(
                f"pad: circular pads ({before}, {after}) crop all of dimension {x.ndim - 1 - k} "
                f"(size {n}, shape {x.shape}), leaving nothing to wrap around."
            )
        if n == 0 and mode != "constant":
            raise ValueError(
                f"pad: {mode} padding needs a non-empty dimension {x.ndim - 1 - k}, got shape "
                f"{x.shape}."
            )
        limit = {"reflect": n - 1, "circular": n, "replicate": None, "constant": None}[mode]
        if limit is not None and max(before, after) > limit:
            raise ValueError(
                f"pad: {mode} padding of ({before}, {after}) on dimension {x.ndim - 1 - k} of "
                f"size {n} (shape {x.shape}) is too large; each side must be "
                f"{'<' if mode == 'reflect' else '<='} {n} in {mode} mode."
            )
    return Pad(pads, mode, 0.0 if value is None else float(value))(x)
