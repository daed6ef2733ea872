"""Shape ops: reshape, transpose/permute, squeeze/unsqueeze, expand, indexing, cat/stack/split.

Their backward moves gradients back into the input's layout; none changes a value. Reshape,
transpose and basic indexing return views of the input (sharing its version counter).
"""

from __future__ import annotations

import math
import numbers

from ..autograd import Function, Tensor, index_key
from ..backend import array_module, sum_to
from .args import as_tensor, normalize_dim

__all__ = [
    "reshape",
    "view",
    "flatten",
    "transpose",
    "permute",
    "squeeze",
    "unsqueeze",
    "expand",
    "broadcast_to",
    "getitem",
    "cat",
    "concatenate",
    "stack",
    "split",
    "chunk",
    "flip",
    "roll",
    "repeat",
    "unbind",
    "tril",
    "triu",
]


class Reshape(Function):
    """y = x with a new shape (same elements, row-major order),   gx = gy reshaped back"""

    view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def error_message(self, arrays, exc):
        x = arrays[0]
        return (
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into "
            f"{self.shape}; the sizes must multiply to {x.size} (at most one -1)."
        )

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Permute(Function):
    """y = x with its dimensions reordered by ``dims``,   gx = gy permuted back"""

    view = True

    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, gy):
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return gy.transpose(inverse)


class BroadcastTo(Function):
    """y = x broadcast to ``shape`` (a read-only view),   gx = sum_to(gy, x.shape)"""

    view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return array_module(x).broadcast_to(x, self.shape)

    def error_message(self, arrays, exc):
        return (
            f"expand: cannot broadcast a tensor of shape {arrays[0].shape} to {self.shape}: "
            "only dimensions of size 1 can grow (and new ones can be added on the left)."
        )

    def backward(self, gy):
        return sum_to(gy, self.in_shape)


def _is_basic(key) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(
        k is None or k is Ellipsis or isinstance(k, (slice, numbers.Integral)) for k in parts
    )


def _has_int_array(key) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return any(hasattr(k, "dtype") and k.dtype.kind in "iu" for k in parts)


class GetItem(Function):
    """y = x[key] for basic, integer-array and boolean indices.

    gx = zeros like x with gy added at x[key]   (``add.at`` when integer arrays may repeat)
    """

    def __init__(self, key):
        self.key = key
        self.view = _is_basic(key)

    def forward(self, x):
        self.in_shape, self.in_dtype = x.shape, x.dtype
        return x[self.key]

    def error_message(self, arrays, exc):
        return (
            f"getitem: index {self.key!r} is invalid for a tensor of shape {arrays[0].shape}: {exc}"
        )

    def backward(self, gy):
        xp = array_module(gy)
        gx = xp.zeros(self.in_shape, self.in_dtype)
        if _has_int_array(self.key):
            xp.add.at(gx, self.key, gy)  # repeated indices accumulate
        else:
            gx[self.key] = gy
        return gx


class Cat(Function):
    """y = concatenation of the inputs along ``dim``,   g_i = the slice of gy that came from x_i"""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        self.sizes = [x.shape[self.dim] for x in xs]
        return array_module(xs[0]).concatenate(xs, axis=self.dim)

    def error_message(self, arrays, exc):
        shapes = ", ".join(str(a.shape) for a in arrays)
        return (
            f"cat: tensors of shapes {shapes} can't be joined along dim {self.dim}: all other "
            "dimensions must match."
        )

    def backward(self, gy):
        xp = array_module(gy)
        bounds = list(xp.cumsum(self.sizes[:-1])) if len(self.sizes) > 1 else []
        parts = xp.split(gy, [int(b) for b in bounds], axis=self.dim)
        return parts[0] if len(parts) == 1 else tuple(parts)


class Stack(Function):
    """y = the inputs stacked along a new ``dim``,   g_i = gy taken at index i of ``dim``"""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        return array_module(xs[0]).stack(xs, axis=self.dim)

    def error_message(self, arrays, exc):
        shapes = ", ".join(str(a.shape) for a in arrays)
        return f"stack: all tensors must have the same shape, got {shapes}."

    def backward(self, gy):
        xp = array_module(gy)
        parts = tuple(xp.take(gy, i, axis=self.dim) for i in range(gy.shape[self.dim]))
        return parts[0] if len(parts) == 1 else parts


class Split(Function):
    """(y_1, ..., y_k) = x cut along ``dim`` at ``bounds``,   gx = concatenation of the g_i"""

    def __init__(self, bounds, dim):
        self.bounds, self.dim = bounds, dim

    def forward(self, x):
        return tuple(array_module(x).split(x, self.bounds, axis=self.dim))

    def backward(self, *gys):
        return array_module(gys[0]).concatenate(gys, axis=self.dim)


# ---------------------------------------------------------------------------------------------
# wrappers


def _sizes(shape) -> tuple:
    """Accept ``reshape(x, 2, 3)`` and ``reshape(x, (2, 3))`` like PyTorch."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def reshape(x, *shape) -> Tensor:
    """``x`` with a new shape (one size may be -1), ``torch.reshape``.

    Examples
    --------
    >>> import zerograd
    >>> reshape(zerograd.arange(6), 2, 3).shape
    (2, 3)
    """
    return Reshape(_sizes(shape))(x)


view = reshape


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one (``torch.flatten``)."""
    x = as_tensor(x)
    s = normalize_dim("flatten", start_dim, x.ndim)
    e = normalize_dim("flatten", end_dim, x.ndim)
    if x.ndim == 0:
        return reshape(x, 1)
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim}).")
    # the merged size spelled out, not -1, so an empty batch (0, C, H, W) flattens too
    return reshape(x, x.shape[:s] + (math.prod(x.shape[s : e + 1]),) + x.shape[e + 1 :])


def permute(x, *dims) -> Tensor:
    """Reorder dimensions (``torch.permute``): ``permute(x, 2, 0, 1)``."""
    x = as_tensor(x)
    dims = tuple(normalize_dim("permute", d, x.ndim) for d in _sizes(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(
            f"permute: dims {dims} must be a permutation of 0..{x.ndim - 1} for shape {x.shape}."
        )
    return Permute(dims)(x)


def transpose(x, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two dimensions (``torch.transpose``; the last two by default)."""
    x = as_tensor(x)
    if x.ndim < 2:
        return x
    d0 = normalize_dim("transpose", dim0, x.ndim)
    d1 = normalize_dim("transpose", dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute(tuple(dims))(x)


def squeeze(x, dim=None) -> Tensor:
    """Drop dimensions of size 1 (all, or only ``dim`` if it has size 1), ``torch.squeeze``."""
    x = as_tensor(x)
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    dims = {normalize_dim("squeeze", d, x.ndim) for d in dims}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


def unsqueeze(x, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim`` (``torch.unsqueeze``)."""
    x = as_tensor(x)
    d = normalize_dim("unsqueeze", dim, x.ndim, extra=1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def expand(x, *sizes) -> Tensor:
    """Broadcast to ``sizes``; -1 keeps a dimension (``torch.Tensor.expand``)."""
    x = as_tensor(x)
    sizes = _sizes(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(
            f"expand: the target {sizes} has fewer dimensions than the tensor's shape {x.shape}."
        )
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    return BroadcastTo(shape)(x)


def broadcast_to(x, shape) -> Tensor:
    """Broadcast to ``shape`` (``torch.broadcast_to``)."""
    return BroadcastTo(_sizes((shape,)))(x)


def getitem(x, key) -> Tensor:
    """``x[key]`` with backward, for basic, integer-array and boolean indices."""
    return GetItem(index_key(key))(x)


def _tensors(op, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{op}: expected a non-empty list or tuple of tensors.")
    return [as_tensor(t) for t in tensors]


def cat(tensors, dim: int = 0, *, axis=None) -> Tensor:
    """Join tensors along an existing dimension (``torch.cat``; ``axis`` is NumPy's name).

    As in PyTorch, 1-d empty tensors (shape ``(0,)``) are left out when joining tensors of more
    dimensions, so ``cat([zeros(0), x])`` is ``x``.

    Examples
    --------
    >>> import zerograd
    >>> cat([zerograd.ones(2, 3), zerograd.zeros(1, 3)]).shape
    (3, 3)
    >>> cat([zerograd.ones(2, 3), zerograd.zeros(2, 1)], axis=1).shape
    (2, 4)
    """
    dim = _dim_or_axis("cat", dim, axis)
    ts = _tensors("cat", tensors)
    full = [t for t in ts if not (t.ndim == 1 and t.shape[0] == 0)]
    if full and len(full) < len(ts) and full[0].ndim > 1:
        ts = full
    d = normalize_dim("cat", dim, ts[0].ndim)
    return Cat(d)(*ts)


def _dim_or_axis(op: str, dim, axis):
    if axis is None:
        return dim
    if dim != 0:
        raise TypeError(f"{op}: got both dim={dim!r} and its alias axis={axis!r}; pass one.")
    return axis


concatenate = cat


def stack(tensors, dim: int = 0, *, axis=None) -> Tensor:
    """Join same-shaped tensors along a new dimension (``torch.stack``; ``axis`` is NumPy's)."""
    dim = _dim_or_axis("stack", dim, axis)
    ts = _tensors("stack", tensors)
    d = normalize_dim("stack", dim, ts[0].ndim, extra=1)
    return Stack(d)(*ts)


def split(x, split_size_or_sections, dim: int = 0) -> tuple:
    """Cut into pieces of ``split_size`` (the last may be smaller) or of the listed sizes."""
    x = as_tensor(x)
    d = normalize_dim("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}.")
        bounds = list(range(step, n, step))
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(
                f"split: sections {sizes} must be non-negative and add up to {n}, the size of "
                f"dim {dim} of shape {x.shape}."
            )
        bounds, total = [], 0
        for s in sizes[:-1]:
            total += s
            bounds.append(total)
    return Split(bounds, d)(x)


def chunk(x, chunks: int, dim: int = 0) -> tuple:
    """Cut into ``chunks`` pieces of (almost) equal size (``torch.chunk``)."""
    x = as_tensor(x)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}.")
    n = x.shape[normalize_dim("chunk", dim, x.ndim)]
    return split(x, max(-(-n // chunks), 1), dim)


# ---------------------------------------------------------------------------------------------
# flip, roll, repeat, unbind, tril/triu


class Flip(Function):
    """y = x reversed along ``dims`` (a copy, as PyTorch's),   gx = gy reversed along ``dims``"""

    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return array_module(x).flip(x, self.dims).copy()

    def backward(self, gy):
        return array_module(gy).flip(gy, self.dims)


class Roll(Function):
    """y = x shifted by ``shifts`` along ``dims`` with wrap-around (the flattened tensor when
    ``dims`` is None),   gx = gy shifted back by -shifts"""

    def __init__(self, shifts, dims):
        self.shifts, self.dims = shifts, dims

    def forward(self, x):
        return array_module(x).roll(x, self.shifts, axis=self.dims)

    def backward(self, gy):
        back = tuple(-s for s in self.shifts) if self.dims is not None else -self.shifts
        return array_module(gy).roll(gy, back, axis=self.dims)


class Repeat(Function):
    """y = x tiled ``sizes`` times along each dimension (``Tensor.repeat``; numpy.tile),
    gx = the sum of gy's tiles (gy viewed as (s0, n0, s1, n1, ...), summed over the s axes)"""

    def __init__(self, sizes):
        self.sizes = sizes

    def forward(self, x):
        self.in_shape = x.shape
        return array_module(x).tile(x, self.sizes)

    def backward(self, gy):
        padded = (1,) * (len(self.sizes) - len(self.in_shape)) + tuple(self.in_shape)
        split = [n for pair in zip(self.sizes, padded) for n in pair]
        tiles = tuple(range(0, 2 * len(self.sizes), 2))
        return gy.reshape(split).sum(axis=tiles).reshape(self.in_shape)


class Triangle(Function):
    """y = x with the elements above (``tril``) or below (``triu``) the ``diagonal``-th
    diagonal of its last two dimensions zeroed,   gx = gy masked the same way"""

    def __init__(self, upper, diagonal):
        self.upper, self.diagonal = upper, diagonal
        self.op_name = "triu" if upper else "tril"

    def forward(self, x):
        xp = array_module(x)
        return (xp.triu if self.upper else xp.tril)(x, self.diagonal)

    def backward(self, gy):
        xp = array_module(gy)
        return (xp.triu if self.upper else xp.tril)(gy, self.diagonal)


def _dims(op: str, dims, ndim: int) -> tuple:
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    out = tuple(normalize_dim(op, d, ndim) for d in dims)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dims {dims} name a dimension twice; list each once.")
    return out


def flip(input, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (an int or a tuple), ``torch.flip``.

    Examples
    --------
    >>> import zerograd
    >>> flip(zerograd.tensor([[1, 2], [3, 4]]), dims=(1,)).tolist()
    [[2, 1], [4, 3]]
    """
    x = as_tensor(input)
    d = _dims("flip", dims, x.ndim)
    if x.ndim == 0:
        return Flip(())(x)
    return Flip(d)(x)


def roll(input, shifts, dims=None) -> Tensor:
    """Shift elements along ``dims`` by ``shifts``, wrapping around (``torch.roll``); with no
    ``dims`` the tensor is flattened, rolled and given its shape back.

    Examples
    --------
    >>> import zerograd
    >>> roll(zerograd.tensor([1, 2, 3, 4]), 1).tolist()
    [4, 1, 2, 3]
    >>> roll(zerograd.tensor([[1, 2], [3, 4]]), shifts=(1, 1), dims=(0, 1)).tolist()
    [[4, 3], [2, 1]]
    """
    x = as_tensor(input)
    shifts_t = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    for s in shifts_t:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"roll: shifts must be ints, got {shifts!r}.")
    shifts_t = tuple(int(s) for s in shifts_t)
    if dims is None or dims == () or dims == []:
        if len(shifts_t) != 1:
            raise ValueError(
                f"roll: without dims, shifts must be one int, got {shifts!r}; pass dims with "
                "one entry per shift."
            )
        return Roll(shifts_t[0], None)(x)
    d = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(d) != len(shifts_t):
        raise ValueError(f"roll: shifts {shifts!r} and dims {dims!r} must have the same length.")
    d = tuple(normalize_dim("roll", a, x.ndim) for a in d)
    if x.ndim == 0:
        return Roll(0, None)(x)
    return Roll(shifts_t, d)(x)


def repeat(input, *sizes) -> Tensor:
    """``input`` tiled ``sizes[i]`` times along dimension i (``Tensor.repeat``); more sizes than
    dimensions add leading ones.

    Examples
    --------
    >>> import zerograd
    >>> repeat(zerograd.tensor([1, 2]), 2, 2).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    x = as_tensor(input)
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(
            f"repeat: got {len(sizes)} repeat counts {sizes} for a tensor of shape {x.shape}; "
            f"give at least {x.ndim}, one per dimension."
        )
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: repeat counts must be >= 0, got {sizes}.")
    return Repeat(sizes)(x)


def unbind(input, dim: int = 0) -> tuple:
    """The slices of ``input`` along ``dim``, each without that dimension (``torch.unbind``).

    Examples
    --------
    >>> import zerograd
    >>> [t.tolist() for t in unbind(zerograd.tensor([[1, 2], [3, 4]]), dim=1)]
    [[1, 3], [2, 4]]
    """
    x = as_tensor(input)
    if x.ndim == 0:
        raise IndexError("unbind: a 0-d tensor has no dimension to unbind; reshape it first.")
    d = normalize_dim("unbind", dim, x.ndim)
    lead = (slice(None),) * d
    return tuple(getitem(x, lead + (i,)) for i in range(x.shape[d]))


def _triangle(op, upper, input, diagonal) -> Tensor:
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(
            f"{op}: needs a tensor of at least 2 dimensions (a matrix or a batch of them), got "
            f"shape {x.shape}."
        )
    if isinstance(diagonal, bool) or not isinstance(diagonal, numbers.Integral):
        raise TypeError(f"{op}: diagonal must be an int, got {diagonal!r}.")
    return Triangle(upper, int(diagonal))(x)


def tril(input, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions: elements above the ``diagonal``-th
    diagonal zeroed (``torch.tril``; 0 the main diagonal, > 0 above it, < 0 below).

    Examples
    --------
    >>> import zerograd
    >>> tril(zerograd.ones(3, 3)).tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    """
    return _triangle("tril", False, input, diagonal)


def triu(input, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions: elements below the ``diagonal``-th
    diagonal zeroed (``torch.triu``).

    Examples
    --------
    >>> import zerograd
    >>> triu(zerograd.ones(2, 3), diagonal=1).tolist()
    [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    """
    return _triangle("triu", True, input, diagonal)
