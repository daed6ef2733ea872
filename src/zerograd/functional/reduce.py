"""Reductions: sum, mean, max/min (and amax/amin), var/std, logsumexp, argmax/argmin.

Each takes PyTorch's ``dim``/``keepdim`` and NumPy's ``axis``/``keepdims`` as aliases (one helper,
``reduce_args``). ``max(x)`` reduces everything; ``max(x, dim)`` returns ``(values, indices)``
like ``torch.max``.
"""

from __future__ import annotations

import math
from collections import namedtuple

from ..autograd import Function, Tensor
from ..backend import array_module
from .args import as_tensor, reduce_args
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
]

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
