"""Indexing by tensors: gather, index_select, masked_fill, sort/argsort/topk, nonzero.

Each differentiable op moves gradients back to the positions its values came from (adding them
where one position was read twice, as gather and index_select may). The index results (sort's
and topk's indices, argsort, nonzero) are int64 tensors without a gradient.
"""

from __future__ import annotations

import numbers
from collections import namedtuple

from ..autograd import Function, Tensor
from ..backend import array_module
from .args import as_tensor, normalize_dim
from .arithmetic import where

__all__ = [
    "gather",
    "index_select",
    "masked_fill",
    "sort",
    "argsort",
    "topk",
    "nonzero",
]

values_indices = namedtuple("values_indices", ["values", "indices"])


def _scatter_add(shape, dtype, dim, index, g):
    """zeros(shape) with g[i...] added at position index[i...] along ``dim`` (repeated positions
    accumulate): one bincount over flat positions, no Python loop over elements."""
    xp = array_module(g)
    if g.size == 0:
        return xp.zeros(shape, dtype)
    grid = list(xp.indices(index.shape, sparse=True))
    grid[dim] = index
    flat = xp.ravel_multi_index(tuple(grid), shape).reshape(-1)
    total = xp.bincount(flat, weights=g.reshape(-1), minlength=int(xp.prod(shape)))
    return total.astype(dtype, copy=False).reshape(shape)


class Gather(Function):
    """y[i][j] = x[index[i][j]][j] (dim 0; likewise along any ``dim``),
    gx = zeros like x with gy added at the gathered positions"""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x, index):
        xp = array_module(x)
        self.in_shape, self.in_dtype = x.shape, x.dtype
        self.save_for_backward(index)
        # index may be smaller than x in the other dims: read only that corner of x
        corner = tuple(
            slice(None) if d == self.dim else slice(0, n) for d, n in enumerate(index.shape)
        )
        return xp.take_along_axis(x[corner], index, axis=self.dim)

    def backward(self, gy):
        (index,) = self.saved
        return _scatter_add(self.in_shape, self.in_dtype, self.dim, index, gy), None


class IndexSelect(Function):
    """y = x's slices at ``index`` along ``dim`` (numpy.take),
    gx = zeros like x with each slice of gy added back where it was read"""

    op_name = "index_select"

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x, index):
        self.in_shape, self.in_dtype = x.shape, x.dtype
        self.save_for_backward(index)
        return array_module(x).take(x, index, axis=self.dim)

    def backward(self, gy):
        (index,) = self.saved
        xp = array_module(gy)
        shape = [1] * gy.ndim
        shape[self.dim] = index.size
        full = xp.broadcast_to(index.reshape(shape), gy.shape)
        return _scatter_add(self.in_shape, self.in_dtype, self.dim, full, gy), None


class Sort(Function):
    """(values, indices) of x sorted along ``dim`` (stable; descending keeps ties in order and
    puts NaN first, as PyTorch's), the first ``k`` of them when ``k`` is given (topk);
    gx = zeros like x with gy put back at ``indices``

    Forward leaves the indices as ``self.indices`` for the wrapper, which takes them (and sets
    them to None); backward reads them from ``save_for_backward``.
    """

    def __init__(self, dim, descending, k=None):
        self.dim, self.descending, self.k = dim, descending, k
        self.op_name = "sort" if k is None else "topk"

    def forward(self, x):
        xp = array_module(x)
        self.in_shape, self.in_dtype = x.shape, x.dtype
        if x.ndim == 0:
            idx = xp.zeros((), "int64")
            self.save_for_backward(idx)
            self.indices = idx
            return x.copy()
        d, n = self.dim, x.shape[self.dim]
        if self.descending:
            # a stable ascending sort of the reversed tensor, read backwards: the largest first,
            # ties in their original order, NaN (last in ascending order) first
            idx = n - 1 - xp.flip(xp.argsort(xp.flip(x, d), axis=d, kind="stable"), d)
        else:
            idx = xp.argsort(x, axis=d, kind="stable")
        if self.k is not None:
            idx = xp.take(idx, range(self.k), axis=d)
        idx = idx.astype("int64", copy=False)
        self.save_for_backward(idx)
        self.indices = idx
        return xp.take_along_axis(x, idx, axis=d)

    def backward(self, gy):
        (idx,) = self.saved
        xp = array_module(gy)
        if idx.ndim == 0:
            return gy.astype(self.in_dtype)
        gx = xp.zeros(self.in_shape, self.in_dtype)
        xp.put_along_axis(gx, idx, gy, axis=self.dim)
        return gx


# ---------------------------------------------------------------------------------------------
# wrappers


def _index(op: str, index) -> Tensor:
    if not isinstance(index, Tensor):
        index = Tensor(index) if hasattr(index, "shape") or isinstance(index, list) else index
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise TypeError(f"{op}: index must be an integer (int64) tensor, got {got}.")
    return index


def gather(input, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """Values of ``input`` picked along ``dim`` by ``index`` (``torch.gather``):
    ``out[i][j] = input[index[i][j]][j]`` for dim 0. ``index`` has ``input``'s number of
    dimensions and sizes no larger than ``input``'s outside ``dim``; the output has its shape.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> gather(x, 1, zerograd.tensor([[0, 0], [1, 0]])).tolist()
    [[1.0, 1.0], [4.0, 3.0]]
    """
    x = as_tensor(input)
    index = _index("gather", index)
    if sparse_grad:
        raise NotImplementedError("gather: sparse_grad=True is not supported; leave it False.")
    d = normalize_dim("gather", dim, x.ndim)
    if index.numel() == 0:  # nothing to read (PyTorch skips the shape checks too)
        return Tensor.wrap(array_module(x.data).zeros(index.shape, x.dtype))
    if max(index.ndim, 1) != max(x.ndim, 1):
        raise ValueError(
            f"gather: index has shape {index.shape} but must have as many dimensions as the "
            f"input's shape {x.shape}."
        )
    if index.ndim and x.ndim:
        for i, (n, m) in enumerate(zip(index.shape, x.shape)):
            if i != d and n > m:
                raise ValueError(
                    f"gather: index has shape {index.shape}, larger than the input's "
                    f"{x.shape} in dimension {i}; outside dim {dim} it must be no larger."
                )
    ix = index.data
    size = x.shape[d] if x.ndim else 1
    if ix.size and (ix.min() < 0 or ix.max() >= size):
        raise IndexError(
            f"gather: index values must lie in [0, {size - 1}] for dimension {dim} of the "
            f"input's shape {x.shape}, got values from {int(ix.min())} to {int(ix.max())}."
        )
    ix = Tensor.wrap(ix.astype("int64", copy=False))
    if x.ndim == 0 or index.ndim == 0:  # one element along the one dimension either way
        return IndexSelect(0)(x.reshape(-1), ix.reshape(-1)).reshape(index.shape)
    return Gather(d)(x, ix)


def index_select(input, dim: int, index) -> Tensor:
    """The slices of ``input`` at the positions ``index`` (a 1-D integer tensor) along ``dim``,
    ``torch.index_select``; positions may repeat (their gradients add up).

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[1, 2], [3, 4], [5, 6]])
    >>> index_select(x, 0, zerograd.tensor([2, 0, 2])).tolist()
    [[5, 6], [1, 2], [5, 6]]
    """
    x = as_tensor(input)
    index = _index("index_select", index)
    if index.ndim > 1:
        raise ValueError(
            f"index_select: index must be 1-D (or 0-d), got shape {index.shape}; flatten it."
        )
    d = normalize_dim("index_select", dim, x.ndim)
    size = x.shape[d] if x.ndim else 1
    ix = index.data.reshape(-1)
    if ix.size and (ix.min() < 0 or ix.max() >= size):
        raise IndexError(
            f"index_select: index values must lie in [0, {size - 1}] for dimension {dim} of "
            f"shape {x.shape}, got values from {int(ix.min())} to {int(ix.max())}."
        )
    ix = Tensor.wrap(ix.astype("int64", copy=False))
    if x.ndim == 0:  # a 0-d input stays 0-d, as PyTorch's
        return IndexSelect(0)(x.reshape(1), ix).reshape(())
    return IndexSelect(d)(x, ix)


def masked_fill(input, mask, value) -> Tensor:
    """``input`` with ``value`` where the bool ``mask`` (broadcast against it) is True,
    ``torch.masked_fill``; ``value`` is a number or a 0-d tensor (which then gets the gradient
    of the filled places).

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> masked_fill(x, x > 2, 0.0).tolist()
    [[1.0, 2.0], [0.0, 0.0]]
    """
    x = as_tensor(input)
    m = as_tensor(mask)
    if m.dtype.kind != "b":
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}.")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(
                f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}."
            )
        if value.dtype != x.dtype:
            value = (
                value.to(x.dtype)
                if x.dtype.kind == "f"
                else Tensor.wrap(value.data.astype(x.dtype))
            )
    elif isinstance(value, numbers.Number):
        # the value takes the tensor's dtype, as in PyTorch: 1.5 fills an int tensor with 1
        value = array_module(x.data).asarray(value).astype(x.dtype)
    else:
        raise TypeError(
            f"masked_fill: value must be a number or a 0-d tensor, got {type(value).__name__}."
        )
    return where(m, value, x)


def _sorted(op, x, dim, descending, k=None):
    x = as_tensor(x)
    d = normalize_dim(op, dim, x.ndim)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{op}: expected a real tensor, got dtype {x.dtype}.")
    fn = Sort(d, bool(descending), k)
    values = fn(x)
    indices, fn.indices = fn.indices, None  # taken: the node keeps only what backward saved
    return values_indices(values, Tensor.wrap(indices))


def sort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """``(values, indices)`` of ``input`` sorted along ``dim`` (``torch.sort``). The sort is
    always stable (equal values keep their order), which ``stable=True`` asks for; NaN sorts as
    the largest value.

    Examples
    --------
    >>> import zerograd
    >>> v, i = sort(zerograd.tensor([3.0, 1.0, 2.0]), descending=True)
    >>> v.tolist(), i.tolist()
    ([3.0, 2.0, 1.0], [0, 2, 1])
    """
    if stable is not None and not isinstance(stable, bool):
        raise TypeError(f"sort: stable must be a bool, got {stable!r}.")
    return _sorted("sort", input, dim, descending)


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim`` (``torch.argsort``; stable).

    Examples
    --------
    >>> import zerograd
    >>> argsort(zerograd.tensor([3.0, 1.0, 2.0])).tolist()
    [1, 2, 0]
    """
    x = as_tensor(input)
    with_no_graph = Tensor.wrap(x.data)
    return _sorted("argsort", with_no_graph, dim, descending).indices


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along
    ``dim`` (``torch.topk``), in sorted order; gradients go back to the chosen elements.

    Examples
    --------
    >>> import zerograd
    >>> v, i = topk(zerograd.tensor([1.0, 5.0, 3.0, 4.0]), 2)
    >>> v.tolist(), i.tolist()
    ([5.0, 4.0], [1, 3])
    """
    x = as_tensor(input)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"topk: k must be an int, got {k!r}.")
    d = normalize_dim("topk", dim, x.ndim)
    size = x.shape[d] if x.ndim else 1
    if not 0 <= k <= size:
        raise ValueError(
            f"topk: k={k} is out of range for dimension {dim} of size {size} (shape {x.shape}); "
            f"use 0 <= k <= {size}."
        )
    if x.ndim == 0:
        return _sorted("topk", x, d, largest)
    return _sorted("topk", x, d, largest, int(k))


def nonzero(input, *, as_tuple: bool = False):
    """The indices of the non-zero elements (``torch.nonzero``): an int64 tensor of shape
    (count, ndim), row-major order; with ``as_tuple=True`` one 1-D tensor per dimension.

    Examples
    --------
    >>> import zerograd
    >>> nonzero(zerograd.tensor([[0.0, 1.0], [2.0, 0.0]])).tolist()
    [[0, 1], [1, 0]]
    """
    x = as_tensor(input)
    xp = array_module(x.data)
    if as_tuple:
        data = x.data.reshape(1) if x.ndim == 0 else x.data
        return tuple(Tensor.wrap(i.astype("int64", copy=False)) for i in xp.nonzero(data))
    return Tensor.wrap(xp.argwhere(x.data).astype("int64", copy=False))
