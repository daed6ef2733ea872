"""Element-wise arithmetic, matrix products and comparisons.

Binary ops follow NumPy broadcasting; backward undoes it with ``sum_to``. A Python number operand
is a constant (kept as a Python number, so float32 stays float32 under NumPy's promotion rules).
"""

from __future__ import annotations

import numbers

from ..autograd import Function, Tensor
from ..backend import array_module, errstate, resolve_dtype, sum_to
from .args import shape_of

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "matmul",
    "mm",
    "bmm",
    "dot",
    "outer",
    "exp",
    "log",
    "sqrt",
    "abs",
    "clamp",
    "clone",
    "clip",
    "maximum",
    "minimum",
    "where",
    "cast",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "allclose",
    "equal",
]


class _Broadcasting(Function):
    """Base of binary element-wise ops: one clear message when shapes don't broadcast."""

    def error_message(self, arrays, exc):
        a, b = (shape_of(x) for x in arrays[:2])
        return (
            f"{self.op_name}: cannot broadcast shapes {a} and {b}: aligned from the right, each "
            "pair of sizes must be equal or one of them 1. Reshape or unsqueeze one operand so "
            "they line up."
        )


class Add(_Broadcasting):
    """y = a + b,   ga = sum_to(gy, a.shape),   gb = sum_to(gy, b.shape)"""

    def forward(self, a, b):
        self.shapes = shape_of(a), shape_of(b)
        return a + b

    def backward(self, gy):
        sa, sb = self.shapes
        return sum_to(gy, sa), sum_to(gy, sb)


class Sub(_Broadcasting):
    """y = a - b,   ga = sum_to(gy, a.shape),   gb = -sum_to(gy, b.shape)"""

    def forward(self, a, b):
        self.shapes = shape_of(a), shape_of(b)
        return a - b

    def backward(self, gy):
        sa, sb = self.shapes
        gb = -sum_to(gy, sb) if self.needs_input_grad[1] else None
        return sum_to(gy, sa), gb


class Mul(_Broadcasting):
    """Element-wise product, NumPy broadcasting.

    y = a * b,   ga = sum_to(gy * b, a.shape),   gb = sum_to(gy * a, b.shape)
    """

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved
        ga = sum_to(gy * b, shape_of(a)) if self.needs_input_grad[0] else None
        gb = sum_to(gy * a, shape_of(b)) if self.needs_input_grad[1] else None
        return ga, gb


class Div(_Broadcasting):
    """y = a / b,   ga = sum_to(gy / b, a.shape),   gb = sum_to(-gy * a / b**2, b.shape)"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved
        ga = gy / b
        gb = sum_to(-ga * a / b, shape_of(b)) if self.needs_input_grad[1] else None
        return sum_to(ga, shape_of(a)), gb


class Neg(Function):
    """y = -x,   gx = -gy"""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(_Broadcasting):
    """y = a ** b,   ga = gy * b * a ** (b - 1),   gb = gy * y * log(a)

    ``b`` is usually a Python number (x ** 2); both may be tensors (then a > 0 for gb). At the
    edges PyTorch's conventions hold: ga = 0 where b = 0 (so 0 ** 0 passes 0, not 0 * inf), and
    gb = 0 where a = 0 and b >= 0 (where y is 0 or 1 and log(a) would make it -inf or NaN).
    """

    def forward(self, a, b):
        y = a**b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved
        xp = array_module(y)
        ga = gb = None
        if self.needs_input_grad[0]:
            with errstate(divide="ignore", invalid="ignore"):
                ga = gy * b * a ** (b - 1)
            if xp.any(xp.asarray(b) == 0):
                ga = xp.where(b == 0, 0, ga).astype(ga.dtype, copy=False)
            ga = sum_to(ga, shape_of(a))
        if self.needs_input_grad[1]:
            with errstate(divide="ignore", invalid="ignore"):
                gb = gy * y * xp.log(a)
            zero_base = (xp.asarray(a) == 0) & (xp.asarray(b) >= 0)
            if xp.any(zero_base):
                gb = xp.where(zero_base, 0, gb).astype(gb.dtype, copy=False)
            gb = sum_to(gb, shape_of(b))
        return ga, gb


class MatMul(Function):
    """Matrix product with batch broadcasting, like ``numpy.matmul`` / ``torch.matmul``.

    y = a @ b,   ga = gy @ b^T,   gb = a^T @ gy   (batch dims summed back with sum_to;
    a 1-D operand is treated as a row (a) or a column (b) vector and squeezed back)
    a: (*A, n, k), b: (*B, k, m) -> y: (*broadcast(A, B), n, m)
    """

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a @ b

    def error_message(self, arrays, exc):
        a, b = (shape_of(x) for x in arrays)
        if len(a) == 0 or len(b) == 0:
            return f"matmul: operands need at least 1 dimension, got {a} and {b}; use * instead."
        ka = a[-1]
        kb = b[0] if len(b) == 1 else b[-2]
        if ka != kb:
            return (
                f"matmul: cannot multiply {a} by {b}: inner sizes {ka} and {kb} differ. "
                "Check operand order or use .T."
            )
        return (
            f"matmul: cannot multiply {a} by {b}: the batch dimensions {a[:-2]} and {b[:-2]} "
            "don't broadcast."
        )

    def backward(self, gy):
        a, b = self.saved
        xp = array_module(gy)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:  # put back the squeezed column (first: gy may be 0-d for vec @ vec)
            gy = xp.expand_dims(gy, -1)
        if a.ndim == 1:  # and the squeezed row
            gy = xp.expand_dims(gy, -2)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = sum_to(gy @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = sum_to(xp.swapaxes(a2, -1, -2) @ gy, b2.shape).reshape(b.shape)
        return ga, gb


class Exp(Function):
    """y = exp(x),   gx = gy * y"""

    def forward(self, x):
        y = array_module(x).exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * y


class Log(Function):
    """y = log(x),   gx = gy / x"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).log(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / x


class Sqrt(Function):
    """y = sqrt(x),   gx = gy / (2 y)"""

    def forward(self, x):
        y = array_module(x).sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy / (2 * y)


class Abs(Function):
    """y = |x|,   gx = gy * sign(x)   (0 at x = 0 and at NaN, as in PyTorch)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).abs(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * ((x > 0).astype(gy.dtype) - (x < 0))


class Clamp(Function):
    """y = min(max(x, lo), hi),   gx = gy where lo <= x <= hi, else 0 (PyTorch's convention)"""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        (x,) = self.saved
        inside = True
        if self.lo is not None:
            inside = x >= self.lo
        if self.hi is not None:
            inside = inside & (x <= self.hi)
        return gy * inside


class Maximum(_Broadcasting):
    """y = max(a, b) element-wise; the gradient goes to the larger input, split evenly on ties.

    ga = sum_to(gy * wa, a.shape),  gb = sum_to(gy * wb, b.shape),
    wa = 0 if a < b, 1/2 if a == b, else 1;   wb = 0 if a > b, 1/2 if a == b, else 1
    (PyTorch's rule: where a NaN makes both comparisons false, both inputs get the gradient)
    """

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return array_module(a).maximum(a, b)

    def _weights(self, a, b):
        both = 1 - 0.5 * (a == b)
        return both * ~(a < b), both * ~(a > b)

    def backward(self, gy):
        a, b = self.saved
        wa, wb = self._weights(a, b)
        ga = sum_to(gy * wa, shape_of(a)) if self.needs_input_grad[0] else None
        gb = sum_to(gy * wb, shape_of(b)) if self.needs_input_grad[1] else None
        return ga, gb


class Minimum(Maximum):
    """y = min(a, b) element-wise; the gradient goes to the smaller input, split evenly on ties
    (and to both where a NaN makes the comparisons false)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return array_module(a).minimum(a, b)

    def _weights(self, a, b):
        wa, wb = super()._weights(a, b)
        return wb, wa


class Where(Function):
    """y = x where cond else other,   gx = sum_to(gy * cond), gother = sum_to(gy * ~cond)"""

    def forward(self, cond, x, other):
        self.save_for_backward(cond)
        self.shapes = shape_of(x), shape_of(other)
        return array_module(cond).where(cond, x, other)

    def error_message(self, arrays, exc):
        shapes = ", ".join(str(shape_of(a)) for a in arrays)
        return f"where: condition, input and other must broadcast together, got shapes {shapes}."

    def backward(self, gy):
        (cond,) = self.saved
        zero = gy.dtype.type(0)
        xp = array_module(gy)
        gx = sum_to(xp.where(cond, gy, zero), self.shapes[0]) if self.needs_input_grad[1] else None
        go = sum_to(xp.where(cond, zero, gy), self.shapes[1]) if self.needs_input_grad[2] else None
        return None, gx, go


class Cast(Function):
    """y = x as another dtype,   gx = gy as x's dtype"""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.src)


class Clone(Function):
    """y = a copy of x,   gx = gy"""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


# ---------------------------------------------------------------------------------------------
# wrappers


def _number_or_tensor(x):
    """Operands as ops take them: Tensors and arrays as they are, numbers as Python numbers."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, numbers.Number):
        # a NumPy scalar would promote float32 to float64 under NumPy 2; a Python number doesn't
        return x if type(x) in (int, float, bool, complex) else x.item()
    return x if hasattr(x, "shape") else Tensor(x)


def _scaled(op: str, b, alpha):
    """``alpha * b`` for add/sub's ``alpha`` (``torch.add(a, b, alpha=2)`` is a + 2 * b)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Number):
        raise TypeError(f"{op}: alpha must be a number, got {type(alpha).__name__}.")
    b = _number_or_tensor(b)
    if alpha == 1:
        return b
    alpha = alpha if type(alpha) in (int, float, complex) else alpha.item()
    return b * alpha if isinstance(b, numbers.Number) else Mul()(b, alpha)


def add(a, b, *, alpha=1) -> Tensor:
    """``a + alpha * b`` with broadcasting (``torch.add``)."""
    return Add()(a, _scaled("add", b, alpha))


def sub(a, b, *, alpha=1) -> Tensor:
    """``a - alpha * b`` with broadcasting (``torch.sub``)."""
    return Sub()(a, _scaled("sub", b, alpha))


def mul(a, b) -> Tensor:
    """``a * b`` with broadcasting."""
    return Mul()(a, _number_or_tensor(b))


def div(a, b, *, rounding_mode=None) -> Tensor:
    """``a / b`` with broadcasting; ``rounding_mode`` "trunc" or "floor" rounds the quotient
    (``torch.div``), and like PyTorch's the rounded quotient passes no gradient (its derivative is
    zero almost everywhere).

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([7.0, -7.0])
    >>> div(x, 2).tolist(), div(x, 2, rounding_mode="trunc").tolist()
    ([3.5, -3.5], [3.0, -3.0])
    >>> div(x, 2, rounding_mode="floor").tolist()
    [3.0, -4.0]
    """
    if rounding_mode is None:
        return Div()(a, _number_or_tensor(b))
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(
            f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}."
        )
    ad = a.data if isinstance(a, Tensor) else a
    b = _number_or_tensor(b)
    bd = b.data if isinstance(b, Tensor) else b
    xp = array_module(ad)
    ad = xp.asarray(ad)
    try:
        with errstate(divide="ignore", invalid="ignore"):
            if rounding_mode == "floor":
                q = xp.floor_divide(ad, bd)
            elif ad.dtype.kind in "iub" and xp.asarray(bd).dtype.kind in "iub":
                q = xp.fix(ad / bd).astype(xp.result_type(ad, bd))  # C's integer division
            else:
                q = xp.trunc(xp.true_divide(ad, bd))
    except ValueError:
        raise ValueError(
            f"div: cannot broadcast shapes {shape_of(ad)} and {shape_of(bd)}."
        ) from None
    return Tensor.wrap(xp.asarray(q))


def neg(x) -> Tensor:
    """``-x``."""
    return Neg()(x)


def pow(a, b) -> Tensor:
    """``a ** b``; ``b`` a number or a tensor."""
    return Pow()(a, _number_or_tensor(b))


def matmul(a, b) -> Tensor:
    """Matrix product ``a @ b`` with batch broadcasting (``torch.matmul``).

    Examples
    --------
    >>> import zerograd
    >>> matmul(zerograd.ones(3, 4), zerograd.ones(5, 6))
    Traceback (most recent call last):
    ...
    ValueError: matmul: cannot multiply (3, 4) by (5, 6): inner sizes 4 and 5 differ. ...
    """
    return MatMul()(a, _number_or_tensor(b))


def exp(x) -> Tensor:
    """e ** x."""
    return Exp()(x)


def log(x) -> Tensor:
    """Natural logarithm."""
    return Log()(x)


def sqrt(x) -> Tensor:
    """Square root."""
    return Sqrt()(x)


def abs(x) -> Tensor:
    """Absolute value."""
    return Abs()(x)


def clamp(x, min=None, max=None) -> Tensor:
    """Limit values to ``[min, max]`` (either may be None), ``torch.clamp``.

    ``min`` and ``max`` are numbers, or tensors that broadcast with ``x`` (then, as in PyTorch,
    where min > max the result is max, and the gradient goes to whichever bound or ``x`` gave the
    value).
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given.")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        y = x
        if isinstance(x, Tensor) and x.dtype.kind == "f":  # a float wins over int bounds
            min, max = (
                cast(b, x.dtype) if isinstance(b, Tensor) and b.dtype.kind in "iub" else b
                for b in (min, max)
            )
        if min is not None:
            y = where(lt(y, min), min, y)
        if max is not None:
            y = where(gt(y, max), max, y)
        return y
    for name, v in (("min", min), ("max", max)):
        if v is not None and not isinstance(v, numbers.Real):
            raise TypeError(f"clamp: {name} must be a number or None, got {type(v).__name__}.")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clamp: min ({min}) is larger than max ({max}).")
    return Clamp(min, max)(x)


clip = clamp


def maximum(a, b) -> Tensor:
    """Element-wise maximum of two tensors."""
    return Maximum()(a, _number_or_tensor(b))


def minimum(a, b) -> Tensor:
    """Element-wise minimum of two tensors."""
    return Minimum()(a, _number_or_tensor(b))


def where(condition, input, other) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (``torch.where``)."""
    cond = condition.data if isinstance(condition, Tensor) else condition
    cond = array_module(cond).asarray(cond)
    if cond.dtype.kind != "b":
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}.")
    if isinstance(condition, Tensor):
        cond = condition  # a Tensor input: the version check covers in-place edits of it
    return Where()(cond, _number_or_tensor(input), _number_or_tensor(other))


def clone(x) -> Tensor:
    """A copy of ``x`` with its own memory, in the graph (``torch.clone``): gradients flow back
    to ``x``, and in-place edits of the copy leave ``x`` alone.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([1.0, 2.0], requires_grad=True)
    >>> y = clone(x)
    >>> (y * 3).sum().backward()
    >>> x.grad.tolist()
    [3.0, 3.0]
    """
    return Clone()(x if isinstance(x, Tensor) else Tensor(x))


def cast(x, dtype) -> Tensor:
    """``x`` converted to ``dtype`` (differentiable; ``x`` itself if it already has it)."""
    dtype = resolve_dtype(dtype)
    if isinstance(x, Tensor) and x.dtype == dtype:
        return x
    return Cast(dtype)(x)


def _compare(ufunc_name):
    def compare(a, b) -> Tensor:
        ad = a.data if isinstance(a, Tensor) else a
        bd = b.data if isinstance(b, Tensor) else b
        xp = array_module(ad)
        try:
            return Tensor.wrap(xp.asarray(getattr(xp, ufunc_name)(ad, bd)))
        except ValueError:
            raise ValueError(
                f"{ufunc_name}: cannot broadcast shapes {shape_of(ad)} and {shape_of(bd)}."
            ) from None

    compare.__name__ = {
        "equal": "eq",
        "not_equal": "ne",
        "less": "lt",
        "less_equal": "le",
        "greater": "gt",
        "greater_equal": "ge",
    }[ufunc_name]
    compare.__doc__ = f"Element-wise ``{ufunc_name}`` as a bool tensor (no gradient)."
    return compare


eq = _compare("equal")
ne = _compare("not_equal")
lt = _compare("less")
le = _compare("less_equal")
gt = _compare("greater")
ge = _compare("greater_equal")


# ---------------------------------------------------------------------------------------------
# the fixed-shape products: mm, bmm, dot, outer (matmul with PyTorch's stricter shape rules)


def _product_operands(op: str, a, b, ndim: int, what: str):
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if a.ndim != ndim or b.ndim != ndim:
        raise ValueError(
            f"{op}: both operands must be {what} ({ndim}-D), got shapes {a.shape} and {b.shape}; "
            "use matmul for other shapes."
        )
    if a.dtype != b.dtype:
        raise TypeError(
            f"{op}: both operands must have the same dtype, got {a.dtype} and {b.dtype}; convert "
            "one, e.g. b.to(a.dtype)."
        )
    return a, b


def mm(input, mat2) -> Tensor:
    """The matrix product of two 2-D tensors, (n, k) @ (k, m) -> (n, m) (``torch.mm``; no
    broadcasting: ``matmul`` has it).

    Examples
    --------
    >>> import zerograd
    >>> mm(zerograd.ones(2, 3), zerograd.ones(3, 4)).shape
    (2, 4)
    >>> mm(zerograd.ones(2, 3), zerograd.ones(4, 3))
    Traceback (most recent call last):
    ...
    ValueError: mm: cannot multiply (2, 3) by (4, 3): inner sizes 3 and 4 differ. ...
    """
    a, b = _product_operands("mm", input, mat2, 2, "matrices")
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"mm: cannot multiply {a.shape} by {b.shape}: inner sizes {a.shape[1]} and "
            f"{b.shape[0]} differ. Check operand order or use .t()."
        )
    return MatMul()(a, b)


def bmm(input, mat2) -> Tensor:
    """Batched matrix product of two 3-D tensors, (B, n, k) @ (B, k, m) -> (B, n, m)
    (``torch.bmm``; the batch sizes must be equal: ``matmul`` broadcasts them).

    Examples
    --------
    >>> import zerograd
    >>> bmm(zerograd.ones(5, 2, 3), zerograd.ones(5, 3, 4)).shape
    (5, 2, 4)
    """
    a, b = _product_operands("bmm", input, mat2, 3, "batches of matrices")
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"bmm: batch sizes differ: {a.shape} and {b.shape}; both must have the same first "
            "size (matmul broadcasts batches)."
        )
    if a.shape[2] != b.shape[1]:
        raise ValueError(
            f"bmm: cannot multiply {a.shape} by {b.shape}: inner sizes {a.shape[2]} and "
            f"{b.shape[1]} differ. Check operand order or use .mT."
        )
    return MatMul()(a, b)


def dot(input, tensor) -> Tensor:
    """The dot product of two 1-D tensors of the same length, a 0-d tensor (``torch.dot``).

    Examples
    --------
    >>> import zerograd
    >>> dot(zerograd.tensor([1.0, 2.0]), zerograd.tensor([3.0, 4.0])).item()
    11.0
    """
    a, b = _product_operands("dot", input, tensor, 1, "vectors")
    if a.shape != b.shape:
        raise ValueError(f"dot: the vectors have different lengths, {a.shape[0]} and {b.shape[0]}.")
    return MatMul()(a, b)


def outer(input, vec2) -> Tensor:
    """The outer product of two 1-D tensors, (n,) and (m,) -> (n, m), ``y[i, j] = a[i] * b[j]``
    (``torch.outer``).

    Examples
    --------
    >>> import zerograd
    >>> outer(zerograd.tensor([1.0, 2.0]), zerograd.tensor([1.0, 10.0, 100.0])).tolist()
    [[1.0, 10.0, 100.0], [2.0, 20.0, 200.0]]
    """
    a = input if isinstance(input, Tensor) else Tensor(input)
    b = vec2 if isinstance(vec2, Tensor) else Tensor(vec2)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(
            f"outer: both operands must be 1-D vectors, got shapes {a.shape} and {b.shape}; "
            "flatten them first."
        )
    return Mul()(a.reshape(-1, 1), b.reshape(1, -1))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Whether ``|input - other| <= atol + rtol * |other|`` everywhere, a Python bool
    (``torch.allclose``; the shapes must broadcast).

    Examples
    --------
    >>> import zerograd
    >>> allclose(zerograd.tensor([1.0, 2.0]), zerograd.tensor([1.0, 2.0 + 1e-9]))
    True
    """
    a = input.data if isinstance(input, Tensor) else input
    b = other.data if isinstance(other, Tensor) else other
    xp = array_module(a)
    try:
        return bool(xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError:
        raise ValueError(
            f"allclose: cannot broadcast shapes {shape_of(a)} and {shape_of(b)}."
        ) from None


def equal(input, other) -> bool:
    """True when both tensors have the same shape and the same values, a Python bool
    (``torch.equal``; NaN equals nothing).

    Examples
    --------
    >>> import zerograd
    >>> equal(zerograd.tensor([1, 2]), zerograd.tensor([1, 2])), equal(
    ...     zerograd.tensor([1, 2]), zerograd.tensor([[1, 2]]))
    (True, False)
    """
    a = input.data if isinstance(input, Tensor) else input
    b = other.data if isinstance(other, Tensor) else other
    xp = array_module(a)
    return bool(xp.array_equal(a, b))
