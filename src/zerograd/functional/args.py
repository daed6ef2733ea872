"""Argument handling shared by every op: ``dim``/``axis`` aliases, reductions, dims in range,
ints-or-pairs of sizes.

Public to the library's packages (nn's layers, data's transforms and the ONNX exporter check
their arguments with the same helpers, so every message reads alike), not re-exported as
``zerograd.functional.*``.
"""

from __future__ import annotations

import math
import numbers

from ..autograd import Tensor

__all__ = [
    "reduce_args",
    "normalize_dim",
    "real_arg",
    "label_smoothing_arg",
    "check_reduction",
    "as_tensor",
    "layer_input",
    "check_input_dtype",
    "shape_of",
    "int_pair",
]

_UNSET = object()


def reduce_args(op: str, ndim: int, dim, keepdim, axis=None, keepdims=None):
    """Resolve PyTorch's ``dim``/``keepdim`` and NumPy's ``axis``/``keepdims`` into one pair.

    Returns ``(axis, keepdims)`` with ``axis`` None (all dimensions) or a tuple of non-negative
    ints. Raises a message that names the op when a dim is out of range or given twice.
    """
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: got both dim={dim!r} and its alias axis={axis!r}; pass one.")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    if dim is None:
        return None, bool(keepdim)
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(normalize_dim(op, d, ndim) for d in dims)
    # a 0-d tensor takes dim 0 or -1 (as PyTorch's does) and has no axis to reduce
    return (() if ndim == 0 else axes), bool(keepdim)


def normalize_dim(op: str, dim, ndim: int, extra: int = 0) -> int:
    """``dim`` as a non-negative int for a tensor of ``ndim`` dims (``extra`` for unsqueeze)."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}.")
    n = max(ndim + extra, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: dim {dim} is out of range for a tensor of {ndim} dimension(s); "
            f"use a dim in [{-n}, {n - 1}]."
        )
    return int(dim) % n


def real_arg(who: str, name: str, value, expected: str, ok=None, allow_inf: bool = False) -> float:
    """A number-valued argument (a rate, a slope, an epsilon) as a Python float, checked.

    ``value`` must be a real number, not a bool, str or array (``float("0.1")`` would pass a
    string, ``float(True)`` a flag, and a NumPy scalar would upcast float32 results); it must not be
    NaN, nor infinite unless ``allow_inf``; and ``ok(value)`` must hold. ``expected`` says what is
    wanted, for the message: ``"in [0, 1]"``, ``"positive and finite"``.

    Raises
    ------
    TypeError
        Not a real number: names ``who``, the argument and the value (a numeric string is shown
        as the number to pass).
    ValueError
        NaN, infinite or out of range: names ``who``, the argument, what is expected and the value.
    """
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        hint = ""
        if isinstance(value, str):
            try:
                hint = f" Pass the number itself: {name}={float(value)!r}."
            except ValueError:
                pass
        raise TypeError(
            f"{who}: {name} must be a number, got {value!r} ({type(value).__name__}).{hint}"
        )
    v = float(value)
    finite = math.isfinite(v) or (allow_inf and not math.isnan(v))
    if not finite or (ok is not None and not ok(v)):
        raise ValueError(f"{who}: {name} must be {expected}, got {v!r}.")
    return v


def label_smoothing_arg(who: str, value) -> float:
    """``label_smoothing`` as a float in [0, 1]; a TypeError / ValueError naming ``who``."""
    return real_arg(who, "label_smoothing", value, "in [0, 1]", lambda v: 0.0 <= v <= 1.0)


def check_reduction(op: str, reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}.")


def as_tensor(x) -> Tensor:
    """``x`` itself if a Tensor, else a constant Tensor wrapping it."""
    return x if isinstance(x, Tensor) else Tensor(x)


def layer_input(who, x) -> Tensor:
    """A layer's input as a Tensor (a NumPy array is wrapped); anything else is a TypeError.

    ``who`` is the layer itself (its repr names it with its config) or a name.
    """
    if isinstance(x, Tensor):
        return x
    array_like = hasattr(x, "__array_interface__") or hasattr(x, "__cuda_array_interface__")
    if array_like and hasattr(x, "dtype") and hasattr(x, "shape"):
        return Tensor(x)  # a NumPy (or CuPy) array or scalar: wrapped as a constant, no copy
    name = who if isinstance(who, str) else repr(who)
    raise TypeError(
        f"{name}: input must be a Tensor, got {type(x).__name__}; wrap the data first, e.g. "
        "zerograd.tensor(data)."
    )


def check_input_dtype(who, x, dtype) -> None:
    """A TypeError naming the layer when its input's dtype is not its parameters' ``dtype``."""
    if x.dtype == dtype:
        return
    name = who if isinstance(who, str) else repr(who)
    if x.dtype.kind == "f":
        fix = f"x.to('{dtype}'), or convert the layer with layer.to('{x.dtype}')"
    else:
        fix = f"x.to('{dtype}')"
    raise TypeError(
        f"{name}: input is {x.dtype} but the parameters are {dtype}; convert the input, e.g. {fix}."
    )


def shape_of(x) -> tuple:
    return x.shape if hasattr(x, "shape") else ()


def int_pair(who: str, name: str, value, minimum: int) -> tuple:
    """An int or a pair of ints as a pair, each >= minimum (PyTorch's ``_pair``).

    ``who`` names the op, layer or transform in the error message.
    """
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(pair) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum for v in pair
    )
    if not ok:
        raise ValueError(
            f"{who}: {name} must be an int or a pair of ints, each >= {minimum}, got {value!r}."
        )
    return tuple(int(v) for v in pair)
