"""Reductions: sum, mean, max/min (and amax/amin), var/std, logsumexp, argmax/argmin.

Each takes PyTorch's ``dim``/``keepdim`` and NumPy's ``axis``/``keepdims`` as aliases (one helper,
``reduce_args``). ``max(x)`` reduces everything; ``max(x, dim)`` returns ``(values, indices)``
like ``torch.max``.
"""

from __future__ import annotations

import math
from collections import namedtuple

from ..autograd import Function, Tensor
from ..backend import array_module, errstate
from .args import as_tensor, normalize_dim, reduce_args
from .arithmetic import sqrt

__all__ = [
    "sum",
    "mean",
    "max",
    "min",
    "amax",
    "amin",
    "var",
    "std",
    "logsumexp",
    "argmax",
    "argmin",
    "any",
    "all",
    "prod",
    "cumsum",
    "count_nonzero",
    "var_mean",
    "std_mean",
]
# norm (torch.norm) is not in __all__: zerograd.functional.norm is the module of the
# normalisation layers; zerograd.norm and Tensor.norm are this function

values_indices = namedtuple("values_indices", ["values", "indices"])


def _kept(gy, in_shape, axis, keepdims):
    """gy reshaped so it broadcasts against the input (the reduced axes put back as size 1)."""
    if keepdims or axis is None and gy.ndim == 0:
        return gy
    if axis is None:
        return gy.reshape((1,) * len(in_shape))
    shape = list(in_shape)
    for a in axis:
        shape[a] = 1
    return gy.reshape(shape)


def _kept_shape(shape, axis) -> tuple:
    return tuple(1 if axis is None or i in axis else n for i, n in enumerate(shape))


def _count(shape, axis) -> int:
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in axis)


class Sum(Function):
    """y = sum of x over ``axis``,   gx = gy broadcast back to x.shape"""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.in_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        g = _kept(gy, self.in_shape, self.axis, self.keepdims)
        return array_module(gy).broadcast_to(g, self.in_shape)


class Mean(Function):
    """y = mean of x over ``axis`` (n elements),   gx = gy / n broadcast back to x.shape"""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.in_shape = x.shape
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        g = _kept(gy, self.in_shape, self.axis, self.keepdims) / _count(self.in_shape, self.axis)
        return array_module(gy).broadcast_to(g, self.in_shape)


class AMax(Function):
    """y = max of x over ``axis``;  the gradient is shared evenly by the elements equal to the max.

    gx = gy * [x == y] / count(x == y)   (PyTorch's ``amax``/``max()`` convention)
    """

    def __init__(self, axis, keepdims, nan_share=False):
        # nan_share: max()/min() of a whole tensor share a NaN result's gradient among the NaNs
        # (PyTorch's evenly_distribute rule); amax/amin give NaN gradients there, as PyTorch's do
        self.axis, self.keepdims, self.nan_share = axis, keepdims, nan_share

    def _reduce(self, x):
        return x.max(axis=self.axis, keepdims=True)

    def forward(self, x):
        y = self._reduce(x)
        self.save_for_backward(x, y)
        return y if self.keepdims else y.reshape(_drop(x.shape, self.axis))

    def backward(self, gy):
        x, y = self.saved
        mask = x == y
        if self.nan_share and y.dtype.kind == "f" and array_module(y).isnan(y).any():
            mask |= array_module(x).isnan(x)
        g = _kept(gy, x.shape, self.axis, self.keepdims) / mask.sum(axis=self.axis, keepdims=True)
        return mask * g


class AMin(AMax):
    """y = min of x over ``axis``; ties share the gradient evenly (as ``AMax``)."""

    def _reduce(self, x):
        return x.min(axis=self.axis, keepdims=True)


def _drop(shape, axis):
    if axis is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axis)


class MaxDim(Function):
    """(values, indices) of the max along one ``dim``;  the gradient goes to the chosen index.

    gx = zeros with gy put at ``indices`` along ``dim``

    Forward also leaves the indices as ``self.indices`` for the wrapper, which takes them (and
    sets them to None); backward reads them, with ``dim`` kept, from ``save_for_backward``.
    """

    def __init__(self, dim, keepdim, largest=True):
        self.dim, self.keepdim, self.largest = dim, keepdim, largest

    def forward(self, x):
        xp = array_module(x)
        idx = (x.argmax if self.largest else x.argmin)(axis=self.dim, keepdims=True)
        self.save_for_backward(idx)
        self.in_shape, self.in_dtype = x.shape, x.dtype
        y = xp.take_along_axis(x, idx, axis=self.dim)
        if not self.keepdim:
            y, idx = y.squeeze(self.dim), idx.squeeze(self.dim)
        self.indices = idx
        return y

    def backward(self, gy):
        (idx,) = self.saved
        xp = array_module(gy)
        gx = xp.zeros(self.in_shape, self.in_dtype)
        g = gy if self.keepdim else xp.expand_dims(gy, self.dim)
        xp.put_along_axis(gx, idx, g, axis=self.dim)
        return gx


class Var(Function):
    """Variance over ``axis`` with ``correction`` (1: unbiased, PyTorch's default; 0: NumPy's).

    y = sum((x - mean)^2) / (n - correction),   gx = gy * 2 (x - mean) / (n - correction)
    """

    def __init__(self, axis, keepdims, correction):
        self.axis, self.keepdims, self.correction = axis, keepdims, correction

    def forward(self, x):
        self.in_shape = x.shape
        d = x - x.mean(axis=self.axis, keepdims=True)
        self.save_for_backward(d)
        self.denom = builtin_max(_count(x.shape, self.axis) - self.correction, 0)
        return (d * d).sum(axis=self.axis, keepdims=self.keepdims) / self.denom

    def backward(self, gy):
        (d,) = self.saved
        return _kept(gy, self.in_shape, self.axis, self.keepdims) * (2 / self.denom) * d


class LogSumExp(Function):
    """y = log(sum(exp(x))) over ``axis``, computed as m + log(sum(exp(x - m))), m = max(x),
    so large x does not overflow.   gx = gy * exp(x - y) (the softmax of x)"""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        xp = array_module(x)
        if x.size:
            m = x.max(axis=self.axis, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # all -inf rows give -inf, not nan
        else:  # an empty sum is 0, its log -inf (PyTorch's answer)
            m = xp.zeros(_kept_shape(x.shape, self.axis), x.dtype)
        y = m + xp.log(xp.exp(x - m).sum(axis=self.axis, keepdims=True))
        self.save_for_backward(x, y)
        return y if self.keepdims else y.reshape(_drop(x.shape, self.axis))

    def backward(self, gy):
        x, y = self.saved
        return _kept(gy, x.shape, self.axis, self.keepdims) * array_module(x).exp(x - y)


builtin_max, builtin_min, builtin_sum = max, min, sum


# ---------------------------------------------------------------------------------------------
# wrappers


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dimensions by default).

    Examples
    --------
    >>> import zerograd
    >>> sum(zerograd.ones(2, 3), dim=1).tolist()
    [3.0, 3.0]
    >>> sum(zerograd.ones(2, 3), axis=0, keepdims=True).shape
    (1, 3)
    """
    x = as_tensor(x)
    if dtype is not None:
        from .arithmetic import cast

        x = cast(x, dtype)
    return Sum(*reduce_args("sum", x.ndim, dim, keepdim, axis, keepdims))(x)


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Mean over ``dim`` (all dimensions by default)."""
    x = as_tensor(x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: needs a floating tensor, got {x.dtype}; convert with .float().")
    return Mean(*reduce_args("mean", x.ndim, dim, keepdim, axis, keepdims))(x)


def _extreme(op, cls, largest, x, dim, keepdim, axis, keepdims):
    x = as_tensor(x)
    if isinstance(dim, Tensor):  # torch.max(input, other): the element-wise maximum
        from .arithmetic import maximum, minimum

        return (maximum if largest else minimum)(x, dim)
    if x.numel() == 0:
        raise ValueError(f"{op}: the tensor of shape {x.shape} is empty; there is no {op}.")
    a, k = reduce_args(op, x.ndim, dim, keepdim, axis, keepdims)
    if a is None:
        return cls(None, k, nan_share=True)(x)
    if x.ndim == 0:
        return values_indices(x, Tensor.wrap(array_module(x.data).zeros((), "int64")))
    if len(a) != 1:
        raise TypeError(
            f"{op}: dim must be a single int, got {dim if dim is not None else axis}; "
            "use amax/amin for several."
        )
    if x.ndim == 0:
        return values_indices(x, Tensor.wrap(array_module(x.data).zeros((), "int64")))
    fn = MaxDim(a[0], k, largest)
    values = fn(x)
    indices, fn.indices = fn.indices, None  # taken: the node keeps only what backward saved
    return values_indices(values, Tensor.wrap(indices))


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest value, or ``(values, indices)`` along ``dim`` (``torch.max``); with a tensor
    in place of ``dim``, the element-wise maximum (``torch.max(input, other)``)."""
    return _extreme("max", AMax, True, x, dim, keepdim, axis, keepdims)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest value, or ``(values, indices)`` along ``dim`` (``torch.min``); with a tensor
    in place of ``dim``, the element-wise minimum."""
    return _extreme("min", AMin, False, x, dim, keepdim, axis, keepdims)


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Largest values over one or more dims (ties share the gradient), ``torch.amax``."""
    x = as_tensor(x)
    return AMax(*reduce_args("amax", x.ndim, dim, keepdim, axis, keepdims))(x)


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Smallest values over one or more dims (ties share the gradient), ``torch.amin``."""
    x = as_tensor(x)
    return AMin(*reduce_args("amin", x.ndim, dim, keepdim, axis, keepdims))(x)


def _correction(op, unbiased, correction):
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: pass either unbiased or correction, not both.")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return correction


def var(
    x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None
) -> Tensor:
    """Variance; unbiased (n - 1) by default as in PyTorch; ``correction=0`` is NumPy's.

    ``var(x, False)`` reads the bool as ``unbiased``, as PyTorch's older form does."""
    x = as_tensor(x)
    if isinstance(dim, bool) and unbiased is None:
        dim, unbiased = None, dim
    a, k = reduce_args("var", x.ndim, dim, keepdim, axis, keepdims)
    return Var(a, k, _correction("var", unbiased, correction))(x)


def std(
    x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None
) -> Tensor:
    """Standard deviation, sqrt(var(...)); same arguments as ``var``."""
    if isinstance(dim, bool) and unbiased is None:
        dim, unbiased = None, dim
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims))


def logsumexp(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """log(sum(exp(x))) over ``dim``, without overflow (``torch.logsumexp``)."""
    x = as_tensor(x)
    return LogSumExp(*reduce_args("logsumexp", x.ndim, dim, keepdim, axis, keepdims))(x)


def _arg(op, x, dim, keepdim, axis, keepdims):
    x = as_tensor(x)
    a, k = reduce_args(op, x.ndim, dim, keepdim, axis, keepdims)
    data = x.data
    if a is None or x.ndim == 0:
        r = getattr(data, op)()
        return Tensor.wrap(
            array_module(data).asarray(r, dtype="int64").reshape((1,) * x.ndim if k else ())
        )
    return Tensor.wrap(getattr(data, op)(axis=a[0], keepdims=k).astype("int64", copy=False))


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Index of the largest value (over the flattened tensor, or along ``dim``); no gradient."""
    return _arg("argmax", x, dim, keepdim, axis, keepdims)


def argmin(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Index of the smallest value (over the flattened tensor, or along ``dim``); no gradient."""
    return _arg("argmin", x, dim, keepdim, axis, keepdims)


def _logical(op, x, dim, keepdim, axis, keepdims) -> Tensor:
    x = as_tensor(x)
    a, k = reduce_args(op, x.ndim, dim, keepdim, axis, keepdims)
    return Tensor.wrap(array_module(x.data).asarray(getattr(x.data, op)(axis=a, keepdims=k)))


def any(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Whether any element is true (non-zero), over ``dim`` or all of it; a bool tensor, no
    gradient (``torch.any``).

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[0.0, 1.0], [0.0, 0.0]])
    >>> any(x).item(), any(x, dim=1).tolist()
    (True, [True, False])
    """
    return _logical("any", x, dim, keepdim, axis, keepdims)


def all(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Whether every element is true (non-zero), over ``dim`` or all of it (``torch.all``)."""
    return _logical("all", x, dim, keepdim, axis, keepdims)


# ---------------------------------------------------------------------------------------------
# products, running sums, norms, counts


def _exclusive_products(x, axis):
    """Along ``axis``, each element's product of all the others (no division, so zeros are
    exact): the running product from the left times the one from the right, each shifted."""
    xp = array_module(x)
    ones = xp.ones_like(xp.take(x, [0], axis=axis))
    left = xp.cumprod(xp.concatenate([ones, xp.take(x, range(x.shape[axis] - 1), axis=axis)],
                                     axis=axis), axis=axis)  # fmt: skip
    rev = xp.flip(x, axis)
    right = xp.cumprod(xp.concatenate([ones, xp.take(rev, range(x.shape[axis] - 1), axis=axis)],
                                      axis=axis), axis=axis)  # fmt: skip
    return left * xp.flip(right, axis)


class Prod(Function):
    """y = product of x over ``axis`` (one dim, or all of them),
    gx = gy * (product of the other elements)

    The product of the others is computed without dividing by x (running products from both
    ends), so it is exact where x has one zero (that element gets the rest's product, the others
    0) or several (all 0), as PyTorch's gradient is.
    """

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.save_for_backward(x)
        return x.prod(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        (x,) = self.saved
        if x.size == 0:
            return array_module(x).zeros_like(x)
        if self.axis is None:
            others = _exclusive_products(x.reshape(-1), 0).reshape(x.shape)
            return gy * others
        return _kept(gy, x.shape, self.axis, self.keepdims) * _exclusive_products(x, self.axis[0])


class CumSum(Function):
    """y_i = x_0 + ... + x_i along ``dim``,   gx_i = gy_i + ... + gy_last (a reversed cumsum)"""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        return array_module(x).cumsum(x, axis=self.dim)

    def backward(self, gy):
        xp = array_module(gy)
        return xp.flip(xp.cumsum(xp.flip(gy, self.dim), axis=self.dim), self.dim)


class Norm(Function):
    """The vector p-norm over ``axis``: y = (sum |x|^p)^(1/p), with p = inf the max |x|, p = -inf
    the min |x|, p = 0 the count of non-zeros.

    gx = gy * x / y (p = 2),  gy * sign(x) (p = 1),  gy * sign(x) [|x| == y] / count (p = +-inf),
    0 (p = 0),  gy * sign(x) |x|^(p-1) / y^(p-1) (any other p); 0 where y = 0, as PyTorch's
    (a zero vector's norm passes a zero gradient, not NaN).
    """

    def __init__(self, p, axis, keepdims):
        self.p, self.axis, self.keepdims = p, axis, keepdims

    def forward(self, x):
        xp = array_module(x)
        p, a = self.p, self.axis
        self.in_shape = x.shape
        ax = xp.abs(x)
        if p == 2:
            y = xp.sqrt((x * x).sum(axis=a, keepdims=True))
        elif p == 1:
            y = ax.sum(axis=a, keepdims=True)
        elif p == math.inf:
            y = ax.max(axis=a, keepdims=True)
        elif p == -math.inf:
            y = ax.min(axis=a, keepdims=True)
        elif p == 0:
            y = (x != 0).sum(axis=a, keepdims=True).astype(x.dtype)
        else:
            y = ((ax**p).sum(axis=a, keepdims=True)) ** (1.0 / p)
        self.save_for_backward(x, y)
        return y if self.keepdims else y.reshape(_drop(x.shape, a))

    def backward(self, gy):
        x, y = self.saved
        xp = array_module(x)
        p = self.p
        g = gy.reshape(y.shape)
        sign = (x > 0).astype(x.dtype) - (x < 0)
        if p == 0:
            return xp.zeros_like(x)
        if p == 1:
            return g * sign
        if p in (math.inf, -math.inf):
            mask = xp.abs(x) == y
            return g * sign * mask / mask.sum(axis=self.axis, keepdims=True)
        with errstate(divide="ignore", invalid="ignore"):
            scale = xp.where(y == 0, 0, g / (y if p == 2 else y ** (p - 1)))
            if p == 2:
                return (scale * x).astype(x.dtype, copy=False)
            part = xp.where(x == 0, 0, sign * xp.abs(x) ** (p - 1))
        return (scale * part).astype(x.dtype, copy=False)


def _integer_sum_dtype(x: Tensor):
    """PyTorch sums and multiplies integers and bools in int64."""
    return "int64" if x.dtype.kind in "iub" else None


def prod(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """The product of all elements, or along one ``dim`` (``torch.prod``); integers and bools
    give int64. The gradient is exact where the input has zeros.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[1.0, 2.0, 3.0], [0.0, 4.0, 5.0]], requires_grad=True)
    >>> prod(x, dim=1).tolist()
    [6.0, 0.0]
    >>> prod(x, dim=1).sum().backward()
    >>> x.grad.tolist()
    [[6.0, 3.0, 2.0], [20.0, 0.0, 0.0]]
    """
    x = as_tensor(input)
    dtype = dtype if dtype is not None else _integer_sum_dtype(x)
    if dtype is not None:
        from .arithmetic import cast

        x = cast(x, dtype)
    if isinstance(dim, (tuple, list)):
        raise TypeError(
            f"prod: dim must be a single int, got {dim!r}; call prod once per dimension."
        )
    a, k = reduce_args("prod", x.ndim, dim, keepdim)
    if a == ():  # a 0-d tensor along dim 0: itself
        a = None
    if x.dtype.kind not in "fc":
        return Tensor.wrap(array_module(x.data).asarray(x.data.prod(axis=a, keepdims=k)))
    return Prod(a, k)(x)


def cumsum(input, dim, *, dtype=None) -> Tensor:
    """Running sums along ``dim`` (``torch.cumsum``); integers and bools give int64.

    Examples
    --------
    >>> import zerograd
    >>> cumsum(zerograd.tensor([[1, 2, 3], [4, 5, 6]]), dim=1).tolist()
    [[1, 3, 6], [4, 9, 15]]
    """
    x = as_tensor(input)
    dtype = dtype if dtype is not None else _integer_sum_dtype(x)
    if dtype is not None:
        from .arithmetic import cast

        x = cast(x, dtype)
    d = normalize_dim("cumsum", dim, x.ndim)
    if x.ndim == 0:
        return x if dtype is None else x + 0
    if x.dtype.kind not in "fc":
        return Tensor.wrap(array_module(x.data).cumsum(x.data, axis=d))
    return CumSum(d)(x)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None) -> Tensor:
    """The vector p-norm over ``dim`` (all elements by default), as ``torch.norm``: ``p`` is
    ``'fro'`` or 2 (Euclidean), 1, ``inf``, ``-inf``, 0 (count of non-zeros) or any other number.
    A zero vector's 2-norm passes a zero gradient, as in PyTorch.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[3.0, -4.0], [0.0, 0.0]], dtype="float64", requires_grad=True)
    >>> norm(x, dim=1).tolist()
    [5.0, 0.0]
    >>> norm(x, dim=1).sum().backward()
    >>> x.grad.numpy().round(6).tolist()
    [[0.6, -0.8], [0.0, 0.0]]
    >>> norm(x, p=float("inf")).item(), norm(x, p=1).item()
    (4.0, 7.0)
    """
    x = as_tensor(input)
    if dtype is not None:
        from .arithmetic import cast

        x = cast(x, dtype)
    if x.dtype.kind != "f":
        raise TypeError(
            f"norm: needs a floating tensor, got {x.dtype}; convert it first, e.g. x.float()."
        )
    if isinstance(p, str):
        ndims = 1 if dim is None or isinstance(dim, int) else len(dim)
        if p != "fro" or (dim is not None and ndims > 2):
            raise NotImplementedError(
                f"norm: p={p!r} with dim={dim!r} is a matrix norm, which zerograd lacks; use "
                "p='fro', a number, or float('inf')."
            )
        p = 2
    elif p is None:
        p = 2
    elif isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"norm: p must be 'fro' or a number, got {p!r}.")
    a, k = reduce_args("norm", x.ndim, dim, keepdim)
    if a == ():
        a = None
    if x.numel() == 0 and p < 0 or (x.numel() == 0 and p == math.inf):
        raise ValueError(
            f"norm: the tensor of shape {x.shape} is empty; its p={p} norm is undefined."
        )
    return Norm(float(p), a, k)(x)


def count_nonzero(input, dim=None) -> Tensor:
    """How many elements are not zero, in all of ``input`` or over ``dim`` (an int or a tuple),
    as an int64 tensor (``torch.count_nonzero``).

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    >>> count_nonzero(x).item(), count_nonzero(x, dim=0).tolist()
    (3, [0, 1, 2])
    """
    x = as_tensor(input)
    a, _ = reduce_args("count_nonzero", x.ndim, dim, False)
    if a == ():
        a = None
    xp = array_module(x.data)
    return Tensor.wrap(xp.asarray((x.data != 0).sum(axis=a), dtype="int64"))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """``(var(input, ...), mean(input, ...))`` with the same arguments as ``var``
    (``torch.var_mean``).

    Examples
    --------
    >>> import zerograd
    >>> v, m = var_mean(zerograd.tensor([1.0, 2.0, 3.0]))
    >>> v.item(), m.item()
    (1.0, 2.0)
    """
    if isinstance(dim, bool) and unbiased is None:
        dim, unbiased = None, dim
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return v, mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """``(std(input, ...), mean(input, ...))`` with the same arguments as ``std``
    (``torch.std_mean``).

    Examples
    --------
    >>> import zerograd
    >>> s, m = std_mean(zerograd.tensor([1.0, 2.0, 3.0]))
    >>> s.item(), m.item()
    (1.0, 2.0)
    """
    if isinstance(dim, bool) and unbiased is None:
        dim, unbiased = None, dim
    s = std(input, dim, unbiased, keepdim, correction=correction)
    return s, mean(input, dim, keepdim)
