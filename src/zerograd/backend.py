"""Backend: the array module, the dtype policy and the one random generator.

Every other layer asks this module for arrays instead of importing ``numpy`` (or ``cupy``) itself,
so a GPU array module can slot in here without touching any op.

- ``array_module(x)`` returns the module that owns ``x``, by its type (``numpy`` for NumPy's).
- The default floating dtype is float32, as in PyTorch; ``set_default_dtype`` changes it.
- ``manual_seed(n)`` reseeds the single ``numpy.random.Generator`` that every random thing in the
  library draws from (``randn``, ``rand``, dropout, init, shuffling), so one seed repeats a run.
"""

from __future__ import annotations

import functools
import os

import numpy

__all__ = [
    "array_module",
    "as_array",
    "is_array",
    "errstate",
    "ragged",
    "sum_to",
    "float32",
    "float64",
    "int32",
    "int64",
    "bool_",
    "get_default_dtype",
    "set_default_dtype",
    "resolve_dtype",
    "manual_seed",
    "generator",
    "get_rng_state",
    "set_rng_state",
    "erf",
    "tune_allocator",
    "tune_allocator_for_training",
]

# dtypes are NumPy's own, so ``zerograd.float32 is numpy.float32``.
float32 = numpy.float32
float64 = numpy.float64
int64 = numpy.int64
int32 = numpy.int32
bool_ = numpy.bool_

_ARRAY_TYPES = (numpy.ndarray,)
# each array module with the types it owns: arrays and their scalars. A GPU module (cupy) would
# add its row here, the one place that imports it.
_ARRAY_MODULES = ((numpy, (numpy.ndarray, numpy.generic)),)
# Python's own values: NumPy makes arrays of them
_HOST_VALUES = (bool, int, float, complex, list, tuple)
_default_dtype = numpy.dtype(numpy.float32)


def array_module(x):
    """The array module that owns ``x``, chosen by its type: ``numpy`` for a NumPy array or
    NumPy scalar, and for Python numbers, bools, lists and tuples (NumPy makes arrays of them).

    Raises
    ------
    TypeError
        For anything else, e.g. a Tensor (pass ``t.data``, its array).

    Examples
    --------
    >>> import numpy as np
    >>> array_module(np.zeros(3)) is np
    True
    >>> array_module(np.float32(1.0)) is np
    True
    """
    for module, types in _ARRAY_MODULES:
        if isinstance(x, types):
            return module
    if isinstance(x, _HOST_VALUES):
        return numpy
    raise TypeError(
        f"array_module: no array module owns a {type(x).__name__}; pass an array (a Tensor's "
        "is its .data), a NumPy scalar or a Python number or list."
    )


def is_array(x) -> bool:
    """True if ``x`` is an array of a backend (not a scalar, list or Tensor)."""
    return isinstance(x, _ARRAY_TYPES)


def as_array(x, dtype=None):
    """``x`` as a backend array (no copy when it already is one of ``dtype``).

    NumPy ufuncs turn 0-d arrays into scalars; the autograd core calls this so that ``Tensor.data``
    is always an array.
    """
    return numpy.asarray(x, dtype=dtype)


def errstate(**kinds):
    """Silence floating-point warnings inside an op: NumPy's ``errstate``, e.g.
    ``with errstate(over="ignore"):`` where an overflow to inf is the right answer (as PyTorch
    gives it, silently). Only around the lines that need it, never the user's own code."""
    return numpy.errstate(**kinds)


def ragged(data) -> str | None:
    """Where nested lists ``data`` stop being rectangular, in words, or None if they do not.

    For the error when NumPy cannot make an array of them: ``[[1, 2], [3]]`` gives
    "data[0] has 2 items but data[1] has 1". The first items set the shape; the first place,
    in order, that differs from it is reported. Only called after NumPy failed, so the walk
    (as long as the data) costs nothing on the way to a tensor.
    """
    shape = []  # what data[0], data[0][0] ... promise
    x = data
    while _is_sequence(x) and len(shape) <= _MAX_NDIM:
        shape.append(len(x))
        if not len(x):
            break
        x = x[0]
    todo = [((), data)]
    while todo:
        path, x = todo.pop()
        depth = len(path)
        first = "data" + "[0]" * depth
        if depth < len(shape):
            if not _is_sequence(x):
                return f"{first} is a list of {shape[depth]} but {_at(path)} is {_scalar(x)}"
            if len(x) != shape[depth]:
                return f"{first} has {shape[depth]} items but {_at(path)} has {len(x)}"
            todo.extend(((*path, i), x[i]) for i in reversed(range(len(x))))
        elif _is_sequence(x):
            number = _scalar(_first_item(data, depth))
            return f"{first} is {number} but {_at(path)} is a list of {len(x)}"
    return None


_MAX_NDIM = 64  # NumPy 2's limit on dimensions


def _is_sequence(x) -> bool:
    return isinstance(x, (list, tuple)) or (getattr(x, "ndim", 0) > 0 and hasattr(x, "__len__"))


def _first_item(data, depth: int):
    for _ in range(depth):
        data = data[0]
    return data


def _at(path) -> str:
    return "data" + "".join(f"[{i}]" for i in path)


def _scalar(x) -> str:
    if isinstance(x, (bool, int, float, complex)):
        return f"the {type(x).__name__} {x!r}"
    return f"a {type(x).__name__}"


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: undoes NumPy broadcasting in a backward pass.

    Leading axes that broadcasting added are summed away, and axes of size 1 in ``shape`` are summed
    with ``keepdims``. Returns ``x`` itself when the shapes already match.

    Examples
    --------
    >>> import numpy as np
    >>> sum_to(np.ones((2, 3, 4)), (3, 1)).tolist()
    [[8.0], [8.0], [8.0]]
    """
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1
    )
    y = x.sum(axis=axes, keepdims=True) if axes else x
    if lead:
        y = y.reshape(shape)
    return y


# ---------------------------------------------------------------------------------------------
# dtype policy


def get_default_dtype():
    """The floating dtype new tensors get from Python floats (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype (float32 or float64), like ``torch.set_default_dtype``."""
    global _default_dtype
    d = resolve_dtype(dtype)
    if d.kind != "f":
        raise TypeError(
            f"set_default_dtype: only floating dtypes are allowed, got {d}. "
            "Use zerograd.float32 or zerograd.float64."
        )
    _default_dtype = d


def resolve_dtype(dtype):
    """Turn a NumPy dtype, its name (``"float32"``) or a zerograd dtype into a ``numpy.dtype``."""
    if dtype is None:
        return _default_dtype
    if hasattr(dtype, "is_floating_point") and hasattr(dtype, "itemsize"):
        # a torch.dtype: say what to pass instead of failing inside NumPy
        raise TypeError(f"dtype {dtype!r} is a torch dtype; pass zerograd.float32 or 'float32'.")
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"unknown dtype {dtype!r}: pass a NumPy dtype, its name such as 'float32', "
            "or zerograd.float32 / zerograd.float64 / zerograd.int64."
        ) from None


_DEVICE_TYPES = ("cpu", "cuda", "gpu", "mps", "xpu", "meta")


def is_device(x) -> bool:
    """Whether ``x`` names a device (``"cpu"``, ``"cuda:0"``, a ``torch.device``), not a dtype."""
    if type(x).__name__ == "device":
        return True
    return isinstance(x, str) and x.split(":")[0] in _DEVICE_TYPES


def check_device(who: str, device) -> None:
    """Accept PyTorch's ``device=`` where zerograd has one device: None, "cpu", "cpu:0" or a
    ``torch.device('cpu')``; anything else is a ValueError naming ``who`` and the device."""
    if device is None:
        return
    name = device.type if type(device).__name__ == "device" else device  # torch.device
    if isinstance(name, str) and name.split(":")[0] == "cpu":
        return
    if isinstance(name, str) and name.split(":")[0] in ("cuda", "gpu", "mps", "xpu"):
        raise ValueError(
            f"{who}: device {device!r} is not available; zerograd runs on the CPU (NumPy) for "
            "now, so pass device='cpu' or leave it out."
        )
    raise ValueError(f"{who}: unknown device {device!r}; zerograd has one device, 'cpu'.")


# ---------------------------------------------------------------------------------------------
# random numbers: one seeded generator for the whole library

_generator = numpy.random.default_rng()


def manual_seed(seed: int):
    """Seed the library's random generator, like ``torch.manual_seed``.

    Every random draw in zerograd (``randn``, ``rand``, dropout masks, weight init, DataLoader
    shuffling) comes from this one generator, so the same seed repeats a whole run.

    Examples
    --------
    >>> _ = manual_seed(0); a = generator().random()
    >>> _ = manual_seed(0); a == generator().random()
    True
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}.")
    _generator = numpy.random.default_rng(int(seed))
    return _generator


def generator() -> numpy.random.Generator:
    """The library's ``numpy.random.Generator`` (reseeded by ``manual_seed``)."""
    return _generator


def get_rng_state() -> dict:
    """The generator's state as a plain dict (for checkpoints)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by ``get_rng_state``."""
    _generator.bit_generator.state = state


# ---------------------------------------------------------------------------------------------
# special functions NumPy lacks

# W. J. Cody's rational approximations ("Rational Chebyshev approximations for the error
# function", Math. Comp. 23, 1969; his Fortran CALERF in Netlib's specfun), evaluated on whole
# arrays: erf on |x| <= 0.46875, erfc on 0.46875 < |x| <= 4 and on |x| > 4, each good to float64
# rounding. erf = 1 - erfc away from 0 loses nothing there, since erfc <= 0.51.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)  # fmt: skip
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)  # fmt: skip
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)  # fmt: skip
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)  # fmt: skip
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip
_ERF_SMALL, _ERF_MID = 0.46875, 4.0
_ERF_ONE = 6.0  # erfc(6) = 2.2e-17 is below half an ulp of 1: erf is 1.0 in float64 from here
_RSQRT_PI = 0.56418958354775628695  # 1 / sqrt(pi)


def _ratio(t, num_coefs, den_coefs, monic_den):
    """N(t) / D(t) by Horner's rule, in place on two buffers (no temporaries per step).

    ``num_coefs`` run from the highest power's coefficient down; ``den_coefs`` likewise, after a
    leading 1 (Cody's denominators are monic) when ``monic_den``.
    """
    num = num_coefs[0] * t
    den = t.copy() if monic_den else den_coefs[0] * t
    for c in num_coefs[1:-1]:
        num += c
        num *= t
    for d in den_coefs[(0 if monic_den else 1) : -1]:
        den += d
        den *= t
    num += num_coefs[-1]
    den += den_coefs[-1]
    num /= den
    return num


def _erf_small(x):
    """erf(x) for |x| <= 0.46875: x * A(x^2) / B(x^2), degrees 4 over 4 (Cody's first range)."""
    a, b = _ERF_A, _ERF_B
    r = _ratio(x * x, (a[4], a[0], a[1], a[2], a[3]), b, monic_den=True)
    r *= x
    return r


def _erfc_scaled(y):
    """exp(y^2) * erfc(y) for 0.46875 < y <= 6: C(y) / D(y) up to 4, (1/sqrt(pi) - P(1/y^2) /
    Q(1/y^2) / y^2) / y beyond (Cody's second and third ranges)."""
    c, d, p, q = _ERF_C, _ERF_D, _ERF_P, _ERF_Q
    r = _ratio(y, (c[8], *c[:8]), d, monic_den=True)
    far = y > _ERF_MID
    if far.any():  # rare in a network's activations: only those elements pay for it
        yf = y[far]
        z = 1.0 / (yf * yf)
        t = _ratio(z, (p[5], *p[:5]), q, monic_den=True)
        t *= -z
        t += _RSQRT_PI
        t /= yf
        r[far] = t
    return r


def _erf_numpy(x):
    """erf of a float64 array in NumPy alone, to float64 rounding (a few ulp); see Cody above.

    exp(-y^2) is taken as exp(-s^2) * exp(-(y - s)(y + s)) with s = y rounded down to 1/16, so
    s^2 is exact and y^2's rounding error does not reach the result (Cody's trick). NaN stays
    NaN, -0.0 stays -0.0, +-inf give +-1.
    """
    y = numpy.abs(x)
    small = y <= _ERF_SMALL
    if small.all():
        return _erf_small(x)
    out = numpy.empty_like(x)
    big = ~small
    xb = x[big]
    yb = numpy.minimum(y[big], _ERF_ONE)  # NaN stays NaN; inf becomes 6, where erf is 1.0
    s = numpy.trunc(yb * 16.0)
    s *= 1.0 / 16.0
    d = yb - s
    d *= yb + s
    numpy.negative(d, out=d)
    numpy.exp(d, out=d)
    s *= s
    numpy.negative(s, out=s)
    numpy.exp(s, out=s)
    s *= d
    s *= _erfc_scaled(yb)  # erfc(|x|)
    numpy.subtract(0.5, s, out=s)
    s += 0.5  # erf(|x|) = 1 - erfc(|x|), as (0.5 - erfc) + 0.5 to round once
    out[big] = numpy.copysign(s, xb, out=s)  # erf is odd
    if small.any():
        out[small] = _erf_small(x[small])
    return out


@functools.cache
def _fast_erf():
    """SciPy's erf ufunc when SciPy is installed (it is optional), else None; imported on first
    use, so ``import zerograd`` does not pay for SciPy."""
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return erf


def erf(x):
    """The error function, element-wise, keeping ``x``'s dtype.

    Uses ``scipy.special.erf`` when SciPy is installed, else Cody's rational approximations in
    NumPy (``_erf_numpy``); both agree with ``math.erf`` to a few ulp in float64. Float32 (and
    float16) input is computed in float64 and rounded back.

    Examples
    --------
    >>> import numpy
    >>> erf(numpy.array([0.0, 0.5, -3.0], dtype=numpy.float32))
    array([ 0.       ,  0.5204999, -0.9999779], dtype=float32)
    """
    fast = _fast_erf()
    if fast is not None:
        return fast(x).astype(x.dtype, copy=False)
    return _erf_numpy(numpy.asarray(x, dtype=numpy.float64)).astype(x.dtype, copy=False)


# --- the C allocator -------------------------------------------------------------------------
# NumPy takes every large array from malloc. glibc serves blocks above its mmap threshold with a
# fresh mmap and returns them to the system when freed, and trims freed memory at the top of its
# heap; either way the next array of that size starts on pages the kernel must fault in and zero
# again. A training step allocates and frees the same large arrays (im2col columns, activations,
# gradients) every time, so that churn costs real time: profile and figures in docs/results.md.
# Raising both thresholds keeps freed blocks in the process for reuse, as PyTorch's caching
# allocators do; peak memory is unchanged (it is the peak), memory is just not handed back
# between steps.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # the largest value glibc accepts on 64-bit systems
_allocator_tuned = False


def tune_allocator() -> bool:
    """Keep freed memory in the process for reuse (glibc only); True if it took effect.

    ``fit`` calls it (through ``tune_allocator_for_training``) unless ``ZEROGRAD_MALLOC=system``
    is set; importing zerograd does not. Calling it again does nothing. On other C libraries
    (macOS, musl) it does nothing and returns False.
    Measured on a DeepConvNet training step: 198 -> 146 ms; SimpleConvNet: 27.5 -> 15.0 ms
    (``benchmarks/profile_step.py MODEL [--tune-allocator]`` with ``ZEROGRAD_MALLOC=system``).
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
        ok &= libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    except (OSError, AttributeError):
        return False
    _allocator_tuned = bool(ok)
    return _allocator_tuned


def tune_allocator_for_training() -> bool:
    """``tune_allocator()`` unless ``ZEROGRAD_MALLOC=system`` is set: what ``fit`` calls, so
    training (``zerograd train``, the lessons, the benchmarks) gets it and a process that only
    imports zerograd (a web server serving predictions) keeps the C library's own policy."""
    if os.environ.get("ZEROGRAD_MALLOC", "").lower() == "system":
        return False
    return tune_allocator()
