"""Creating tensors: ``tensor``, ``zeros``, ``ones``, ``randn`` ... with PyTorch's signatures.

Python floats become the default dtype (float32), Python ints int64 and bools bool, as in PyTorch;
a NumPy array keeps its dtype unless ``dtype`` is given. Random tensors draw from the library's one
seeded generator (``zerograd.manual_seed``).
"""

from __future__ import annotations

import numbers

import numpy

from . import backend
from .autograd import Tensor

__all__ = [
    "tensor",
    "as_tensor",
    "zeros",
    "ones",
    "full",
    "empty",
    "eye",
    "arange",
    "linspace",
    "randn",
    "rand",
    "randint",
    "zeros_like",
    "ones_like",
    "full_like",
    "randn_like",
    "rand_like",
    "from_numpy",
    "empty_like",
    "randperm",
    "numel",
    "is_tensor",
]


def _make(array, requires_grad: bool) -> Tensor:
    t = Tensor.wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shape(size) -> tuple:
    """Accept ``zeros(2, 3)``, ``zeros((2, 3))`` and ``zeros([2, 3])`` like PyTorch."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < 0:
            raise ValueError(f"sizes must be non-negative integers, got {tuple(size)}.")
    return tuple(int(n) for n in size)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a Tensor).

    Raises
    ------
    ValueError
        If nested lists are ragged (``[[1, 2], [3]]``): the message says where and which lengths
        differ.
    TypeError
        If the data are not numbers (strings, objects).

    Examples
    --------
    >>> tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> tensor([1, 2]).dtype
    dtype('int64')
    """
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_array(data) and dtype is None:
        array = data.copy()
    else:
        try:
            array = numpy.array(data, dtype=None if dtype is None else backend.resolve_dtype(dtype))
        except ValueError:
            where = backend.ragged(data)
            if where is None:
                raise
            raise ValueError(
                f"tensor: the nested lists are ragged: {where}. A tensor is rectangular: every "
                "list at one level needs the same length (pad the short ones, or make a tensor "
                "of each)."
            ) from None
    if dtype is None and not backend.is_array(data):
        if array.dtype == numpy.float64 and not isinstance(data, numpy.generic):
            array = array.astype(backend.get_default_dtype())
        elif array.dtype.kind == "i" and array.dtype != numpy.int64:
            array = array.astype(numpy.int64)
        elif array.dtype.kind not in "biufc":
            raise TypeError(
                f"tensor: can't make a tensor from {type(data).__name__} (NumPy read it as dtype "
                f"{array.dtype}); pass numbers, nested lists of numbers or an array."
            )
    return _make(array, requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array when no conversion is needed."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == backend.resolve_dtype(dtype)):
        return data
    if backend.is_array(data) and (dtype is None or data.dtype == backend.resolve_dtype(dtype)):
        return Tensor.wrap(data)
    return tensor(data, dtype=dtype)


def from_numpy(array) -> Tensor:
    """A tensor sharing memory with the NumPy ``array`` (``torch.from_numpy``): writes to one show
    in the other; the dtype is the array's.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros(3)
    >>> t = from_numpy(a)
    >>> a[0] = 5.0
    >>> t.tolist(), t.dtype
    ([5.0, 0.0, 0.0], dtype('float64'))
    """
    if not isinstance(array, numpy.ndarray):
        raise TypeError(
            f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}; use "
            "zerograd.tensor(data) for lists and numbers."
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"from_numpy: can't make a tensor of dtype {array.dtype}; pass a bool, integer or "
            "floating array."
        )
    return Tensor.wrap(array)


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of zeros, ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    backend.check_device("zeros", device)
    return _make(numpy.zeros(_shape(size), backend.resolve_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ones."""
    backend.check_device("ones", device)
    return _make(numpy.ones(_shape(size), backend.resolve_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """An uninitialised tensor (its values are whatever memory held)."""
    backend.check_device("empty", device)
    return _make(numpy.empty(_shape(size), backend.resolve_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype follows the value, like PyTorch)."""
    backend.check_device("full", device)
    if dtype is None and isinstance(fill_value, bool):
        dtype = numpy.bool_
    elif dtype is None and isinstance(fill_value, int):
        dtype = numpy.int64
    size = _shape((size,) if isinstance(size, (tuple, list)) else (size,))
    return _make(numpy.full(size, fill_value, backend.resolve_dtype(dtype)), requires_grad)


def eye(
    n: int, m: int | None = None, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    """The identity matrix (n, m)."""
    backend.check_device("eye", device)
    return _make(numpy.eye(n, m, dtype=backend.resolve_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Values in ``[start, end)`` spaced by ``step``; int64 when all arguments are ints.

    Examples
    --------
    >>> arange(3).tolist()
    [0, 1, 2]
    """
    backend.check_device("arange", device)
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, numpy.integer)) for v in (start, end, step))
        dtype = numpy.int64 if ints else backend.get_default_dtype()
    if step == 0:
        raise ValueError("arange: step must be non-zero.")
    return _make(numpy.arange(start, end, step, dtype=backend.resolve_dtype(dtype)), requires_grad)


def linspace(
    start, end, steps: int, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end`` inclusive."""
    backend.check_device("linspace", device)
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    return _make(
        numpy.linspace(start, end, steps, dtype=backend.resolve_dtype(dtype)), requires_grad
    )


def _random_float(draw, size, dtype, requires_grad):
    dtype = backend.resolve_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"random floats need a floating dtype, got {dtype}.")
    # the generator draws float32 or float64 directly: no float64 detour for float32
    return _make(draw(size, dtype), requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Samples from N(0, 1), from the library's seeded generator."""
    backend.check_device("randn", device)
    draw = backend.generator().standard_normal
    return _random_float(lambda s, d: draw(s, dtype=d), _shape(size), dtype, requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Samples from U[0, 1), from the library's seeded generator."""
    backend.check_device("rand", device)
    draw = backend.generator().random
    return _random_float(lambda s, d: draw(s, dtype=d), _shape(size), dtype, requires_grad)


def randint(
    low, high=None, size=(), dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """Integers in ``[low, high)`` (int64), like ``torch.randint``."""
    backend.check_device("randint", device)
    if isinstance(high, (tuple, list)):  # randint(high, size), PyTorch's short form
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    size = _shape((size,) if isinstance(size, (tuple, list)) else (size,))
    dtype = backend.resolve_dtype(numpy.int64 if dtype is None else dtype)
    if requires_grad and dtype.kind != "f":
        raise TypeError("randint: integer tensors cannot require gradients (like PyTorch's).")
    if low >= high and numpy.prod(size) > 0:
        raise ValueError(f"randint: low ({low}) must be less than high ({high}).")
    ints = backend.generator().integers(low, max(high, low + 1), size, dtype=numpy.int64)
    return _make(ints.astype(dtype, copy=False), requires_grad)


def _like(t, dtype):
    data = t.data if isinstance(t, Tensor) else numpy.asarray(t)
    return data.shape, (data.dtype if dtype is None else backend.resolve_dtype(dtype))


def zeros_like(t, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    backend.check_device("zeros_like", device)
    shape, dtype = _like(t, dtype)
    return _make(numpy.zeros(shape, dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    backend.check_device("ones_like", device)
    shape, dtype = _like(t, dtype)
    return _make(numpy.ones(shape, dtype), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    backend.check_device("full_like", device)
    shape, dtype = _like(t, dtype)
    return _make(numpy.full(shape, fill_value, dtype), requires_grad)


def randn_like(t, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    backend.check_device("randn_like", device)
    shape, dtype = _like(t, dtype)
    return randn(*shape, dtype=dtype, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    backend.check_device("rand_like", device)
    shape, dtype = _like(t, dtype)
    return rand(*shape, dtype=dtype, requires_grad=requires_grad)


def empty_like(t, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """An uninitialised tensor of ``t``'s shape and dtype (``torch.empty_like``).

    Examples
    --------
    >>> import zerograd
    >>> empty_like(zerograd.ones(2, 3, dtype="float64")).dtype
    dtype('float64')
    """
    backend.check_device("empty_like", device)
    shape, dtype = _like(t, dtype)
    return _make(numpy.empty(shape, dtype), requires_grad)


def randperm(n: int, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 by default), ``torch.randperm``; drawn from
    the library's seeded generator.

    Examples
    --------
    >>> import zerograd
    >>> sorted(randperm(5).tolist())
    [0, 1, 2, 3, 4]
    """
    backend.check_device("randperm", device)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}.")
    dtype = backend.resolve_dtype(numpy.int64 if dtype is None else dtype)
    if requires_grad and dtype.kind != "f":
        raise TypeError("randperm: integer tensors cannot require gradients (like PyTorch's).")
    return _make(backend.generator().permutation(int(n)).astype(dtype), requires_grad)


def numel(input) -> int:
    """The number of elements of ``input`` (``torch.numel``).

    Examples
    --------
    >>> import zerograd
    >>> numel(zerograd.zeros(2, 3))
    6
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"numel: expected a Tensor, got {type(input).__name__}.")
    return input.numel()


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a zerograd Tensor (``torch.is_tensor``).

    Examples
    --------
    >>> import zerograd
    >>> is_tensor(zerograd.ones(1)), is_tensor([1.0])
    (True, False)
    """
    return isinstance(obj, Tensor)
