"""Element-wise math beyond arithmetic: sin/cos, log1p/expm1, reciprocal/square, the rounding
family (floor, ceil, round, sign) and the float tests (isnan, isinf, isfinite, nan_to_num).

As in PyTorch: an integer input to an op whose result is a float (sin, log1p, reciprocal, ...)
gives the default float dtype; the rounding family keeps integers as they are and passes a zero
gradient (its derivative is zero almost everywhere); the float tests give bool tensors.
"""

from __future__ import annotations

import numbers

from ..autograd import Function, Tensor
from ..backend import array_module, errstate, get_default_dtype

__all__ = [
    "sin",
    "cos",
    "log1p",
    "expm1",
    "reciprocal",
    "square",
    "sign",
    "floor",
    "ceil",
    "round",
    "isnan",
    "isinf",
    "isfinite",
    "nan_to_num",
]


class Sin(Function):
    """y = sin(x),   gx = gy * cos(x)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).sin(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * array_module(x).cos(x)


class Cos(Function):
    """y = cos(x),   gx = -gy * sin(x)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).cos(x)

    def backward(self, gy):
        (x,) = self.saved
        return -gy * array_module(x).sin(x)


class Log1p(Function):
    """y = log(1 + x) (accurate for small x),   gx = gy / (1 + x)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).log1p(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / (1 + x)


class Expm1(Function):
    """y = exp(x) - 1 (accurate for small x),   gx = gy * (y + 1)"""

    def forward(self, x):
        y = array_module(x).expm1(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * (y + 1)


class Reciprocal(Function):
    """y = 1 / x,   gx = -gy * y^2"""

    def forward(self, x):
        with errstate(divide="ignore"):
            y = 1 / x
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return -gy * y * y


class Square(Function):
    """y = x^2,   gx = 2 x gy"""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved
        return 2 * x * gy


class PiecewiseConstant(Function):
    """y = floor(x), ceil(x), round(x, decimals) or sign(x);   gx = 0

    Each is constant between its jumps, so its derivative is zero almost everywhere: like
    PyTorch's, the output is part of the graph and passes a zero gradient back.
    """

    def __init__(self, kind, decimals=0):
        self.kind, self.decimals = kind, decimals
        self.op_name = kind  # "floor", not "piecewiseconstant", in errors and graph drawings

    def forward(self, x):
        xp = array_module(x)
        self.in_shape, self.in_dtype = x.shape, x.dtype
        if self.kind == "round":
            return xp.round(x, self.decimals)
        if self.kind == "sign":  # PyTorch's (0 < x) - (x < 0): NaN and -0.0 give 0
            return (x > 0).astype(x.dtype) - (x < 0)
        return getattr(xp, self.kind)(x)

    def backward(self, gy):
        return array_module(gy).zeros(self.in_shape, self.in_dtype)


class NanToNum(Function):
    """y = x with NaN, +inf and -inf replaced by ``nan``, ``posinf``, ``neginf``;
    gx = gy where x is finite, else 0 (PyTorch's convention)"""

    op_name = "nan_to_num"

    def __init__(self, nan, posinf, neginf):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x):
        xp = array_module(x)
        self.save_for_backward(x)
        return xp.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, gy):
        (x,) = self.saved
        return gy * array_module(x).isfinite(x)


# ---------------------------------------------------------------------------------------------
# wrappers


def _input(op: str, x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, numbers.Number) or hasattr(x, "shape") or isinstance(x, (list, tuple)):
        return Tensor(x)
    raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}.")


def _floating(op: str, x) -> Tensor:
    """``x`` as a float tensor: an integer or bool one becomes the default float dtype, as
    PyTorch promotes it for ops whose result is a float."""
    x = _input(op, x)
    if x.dtype.kind in "iub":
        return Tensor.wrap(x.data.astype(get_default_dtype()))
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a real tensor, got dtype {x.dtype}.")
    return x


def sin(input) -> Tensor:
    """Sine, element-wise (``torch.sin``); integers give the default float dtype.

    Examples
    --------
    >>> import zerograd
    >>> sin(zerograd.tensor([0.0])).tolist()
    [0.0]
    """
    return Sin()(_floating("sin", input))


def cos(input) -> Tensor:
    """Cosine, element-wise (``torch.cos``); integers give the default float dtype.

    Examples
    --------
    >>> import zerograd
    >>> cos(zerograd.tensor([0.0])).tolist()
    [1.0]
    """
    return Cos()(_floating("cos", input))


def log1p(input) -> Tensor:
    """``log(1 + input)``, accurate where ``input`` is tiny (``torch.log1p``).

    Examples
    --------
    >>> import zerograd
    >>> log1p(zerograd.tensor([0.0, 1e-20], dtype="float64")).tolist()
    [0.0, 1e-20]
    """
    return Log1p()(_floating("log1p", input))


def expm1(input) -> Tensor:
    """``exp(input) - 1``, accurate where ``input`` is tiny (``torch.expm1``).

    Examples
    --------
    >>> import zerograd
    >>> expm1(zerograd.tensor([0.0, 1e-20], dtype="float64")).tolist()
    [0.0, 1e-20]
    """
    return Expm1()(_floating("expm1", input))


def reciprocal(input) -> Tensor:
    """``1 / input`` (``torch.reciprocal``); 1 / 0 is inf, as in PyTorch.

    Examples
    --------
    >>> import zerograd
    >>> reciprocal(zerograd.tensor([2.0, 4.0])).tolist()
    [0.5, 0.25]
    """
    return Reciprocal()(_floating("reciprocal", input))


def square(input) -> Tensor:
    """``input * input`` (``torch.square``); integers stay integers.

    Examples
    --------
    >>> import zerograd
    >>> square(zerograd.tensor([-3, 2])).tolist()
    [9, 4]
    """
    x = _input("square", input)
    if x.dtype.kind == "b":
        x = Tensor.wrap(x.data.astype("int64"))  # PyTorch's pow(bool, 2) is an int64
    if x.dtype.kind in "iu":
        return Tensor.wrap(x.data * x.data)
    return Square()(x)


def _piecewise(op, x, decimals=0) -> Tensor:
    x = _input(op, x)
    if x.dtype.kind in "iub" and (op != "round" or decimals >= 0):
        if op == "sign" and x.dtype.kind != "b":
            return Tensor.wrap(array_module(x.data).sign(x.data))
        return Tensor.wrap(x.data.copy())  # integers are already whole numbers
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{op}: expected a real tensor, got dtype {x.dtype}.")
    if x.dtype.kind != "f":
        raise NotImplementedError(
            f"{op}: decimals={decimals} on an integer tensor is not supported; convert it to a "
            "float first, e.g. x.float()."
        )
    return PiecewiseConstant(op, decimals)(x)


def sign(input) -> Tensor:
    """-1, 0 or 1 by the sign of each element (``torch.sign``; NaN gives 0); zero gradient.

    Examples
    --------
    >>> import zerograd
    >>> sign(zerograd.tensor([-2.5, 0.0, 3.0])).tolist()
    [-1.0, 0.0, 1.0]
    """
    return _piecewise("sign", input)


def floor(input) -> Tensor:
    """The largest whole number <= each element (``torch.floor``); zero gradient.

    Examples
    --------
    >>> import zerograd
    >>> floor(zerograd.tensor([-1.5, 1.5])).tolist()
    [-2.0, 1.0]
    """
    return _piecewise("floor", input)


def ceil(input) -> Tensor:
    """The smallest whole number >= each element (``torch.ceil``); zero gradient.

    Examples
    --------
    >>> import zerograd
    >>> ceil(zerograd.tensor([-1.5, 1.5])).tolist()
    [-1.0, 2.0]
    """
    return _piecewise("ceil", input)


def round(input, *, decimals: int = 0) -> Tensor:
    """Round to ``decimals`` decimal places, halves to even (``torch.round``); zero gradient.

    Examples
    --------
    >>> import zerograd
    >>> round(zerograd.tensor([0.5, 1.5, 2.5, -0.5])).tolist()
    [0.0, 2.0, 2.0, -0.0]
    >>> round(zerograd.tensor([1.2345], dtype="float64"), decimals=2).tolist()
    [1.23]
    """
    if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}.")
    return _piecewise("round", input, int(decimals))


def _test(op, x) -> Tensor:
    x = _input(op, x)
    xp = array_module(x.data)
    if x.dtype.kind in "iub":  # integers are never NaN or infinite
        value = op == "isfinite"
        return Tensor.wrap(xp.full(x.shape, value, dtype=bool))
    return Tensor.wrap(xp.asarray(getattr(xp, op)(x.data)))


def isnan(input) -> Tensor:
    """A bool tensor: True where ``input`` is NaN (``torch.isnan``).

    Examples
    --------
    >>> import zerograd
    >>> isnan(zerograd.tensor([1.0, float("nan")])).tolist()
    [False, True]
    """
    return _test("isnan", input)


def isinf(input) -> Tensor:
    """A bool tensor: True where ``input`` is +inf or -inf (``torch.isinf``).

    Examples
    --------
    >>> import zerograd
    >>> isinf(zerograd.tensor([1.0, float("-inf")])).tolist()
    [False, True]
    """
    return _test("isinf", input)


def isfinite(input) -> Tensor:
    """A bool tensor: True where ``input`` is neither NaN nor infinite (``torch.isfinite``).

    Examples
    --------
    >>> import zerograd
    >>> isfinite(zerograd.tensor([1.0, float("inf"), float("nan")])).tolist()
    [True, False, False]
    """
    return _test("isfinite", input)


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the
    dtype's largest and smallest finite values), as ``torch.nan_to_num``; the gradient passes
    where ``input`` is finite and is 0 where a value was replaced.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([float("nan"), float("inf"), -1.0])
    >>> nan_to_num(x, posinf=9.0).tolist()
    [0.0, 9.0, -1.0]
    """
    x = _input("nan_to_num", input)
    for name, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
            raise TypeError(f"nan_to_num: {name} must be a number or None, got {v!r}.")
    if x.dtype.kind in "iub":
        return Tensor.wrap(x.data.copy())
    return NanToNum(float(nan or 0.0), posinf, neginf)(x)
