"""Activation functions: step, sigmoid, tanh, ReLU, leaky ReLU, ELU, GELU, softplus, softmax,
log-softmax and identity. Each is written in a numerically stable form (see the comments)."""

from __future__ import annotations

import math

from ..autograd import Function, Tensor
from ..backend import array_module, erf, get_default_dtype
from .args import as_tensor, normalize_dim, real_arg

__all__ = [
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
    "softmax",
    "log_softmax",
    "identity",
]


class Step(Function):
    """y = 1 if x > 0 else 0,   gx = 0 (the step has no useful gradient: why the course moves on)"""

    def forward(self, x):
        return (x > 0).astype(x.dtype)

    def backward(self, gy):
        return array_module(gy).zeros_like(gy)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)),   gx = gy * y * (1 - y)"""

    def forward(self, x):
        xp = array_module(x)
        # exp of -|x| never overflows: for x < 0 use the equal form exp(x) / (1 + exp(x))
        e = xp.exp(-xp.abs(x))
        r = 1 / (1 + e)
        y = xp.where(x >= 0, r, e * r)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * y * (1 - y)


class Tanh(Function):
    """y = tanh(x),   gx = gy * (1 - y^2)"""

    def forward(self, x):
        y = array_module(x).tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * (1 - y * y)


class ReLU(Function):
    """y = max(x, 0),   gx = gy * [not y <= 0]   (so a NaN passes its gradient, as in PyTorch)"""

    def forward(self, x):
        y = array_module(x).maximum(x, 0)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * ~(y <= 0)


class LeakyReLU(Function):
    """y = x if x > 0 else slope * x,   gx = gy * (1 if x > 0 else slope)"""

    def __init__(self, negative_slope):
        self.slope = negative_slope

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).where(x > 0, x, x * self.slope)

    def backward(self, gy):
        (x,) = self.saved
        return array_module(x).where(x > 0, gy, gy * self.slope)


class ELU(Function):
    """y = x if x > 0 else alpha (exp(x) - 1),   gx = gy * (alpha exp(x) if x <= 0 else 1)
    (a NaN takes the second branch: gradient gy, as in PyTorch)"""

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        xp = array_module(x)
        self.save_for_backward(x)
        # expm1 of min(x, 0): accurate near 0 and never overflows on the branch not taken
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))

    def backward(self, gy):
        (x,) = self.saved
        xp = array_module(x)
        # alpha exp(x), not y + alpha: that sum rounds to 0 for x << 0 in float32
        return xp.where(x <= 0, gy * (self.alpha * xp.exp(xp.minimum(x, 0))), gy)


_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class GELU(Function):
    """y = x * Phi(x), Phi the standard normal CDF,   gx = gy * (Phi(x) + x * phi(x))

    ``approximate='tanh'``: Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2, as in PyTorch.
    """

    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, x):
        xp = array_module(x)
        if self.approximate == "tanh":
            t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3))
            self.save_for_backward(x, t)
            return 0.5 * x * (1 + t)
        cdf = 0.5 * (1 + erf(x / _SQRT_2))
        self.save_for_backward(x, cdf)
        return x * cdf

    def backward(self, gy):
        if self.approximate == "tanh":
            x, t = self.saved
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner)
        x, cdf = self.saved
        pdf = _INV_SQRT_2PI * array_module(x).exp(-0.5 * x * x)
        return gy * (cdf + x * pdf)


class Softplus(Function):
    """y = log(1 + exp(beta x)) / beta (x itself where beta x > threshold, as in PyTorch),
    gx = gy * sigmoid(beta x)"""

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp = array_module(x)
        z = x * self.beta
        # max(z, 0) + log1p(exp(-|z|)): exp never overflows
        y = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / self.beta
        y = xp.where(z > self.threshold, x, y)
        self.save_for_backward(x)
        return y

    def backward(self, gy):
        (x,) = self.saved
        xp = array_module(x)
        z = x * self.beta
        e = xp.exp(-xp.abs(z))
        s = xp.where(z >= 0, 1 / (1 + e), e / (1 + e))  # stable sigmoid(z)
        return xp.where(z > self.threshold, gy, gy * s)


class Softmax(Function):
    """y_i = exp(x_i - max x) / sum_j exp(x_j - max x) along ``dim`` (the max shift stops overflow)

    gx = y * (gy - sum(gy * y, dim))
    """

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        xp = array_module(x)
        if x.size == 0:  # an empty softmax dimension (or none at all): nothing to normalise
            self.save_for_backward(x)
            return x.copy()
        e = xp.exp(x - x.max(axis=self.dim, keepdims=True))
        y = e / e.sum(axis=self.dim, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return y * (gy - (gy * y).sum(axis=self.dim, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``dim`` (stable: the max is subtracted first)

    gx = gy - exp(y) * sum(gy, dim)
    """

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        xp = array_module(x)
        if x.size == 0:
            self.save_for_backward(x)
            return x.copy()
        z = x - x.max(axis=self.dim, keepdims=True)
        y = z - xp.log(xp.exp(z).sum(axis=self.dim, keepdims=True))
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy - array_module(y).exp(y) * gy.sum(axis=self.dim, keepdims=True)


# ---------------------------------------------------------------------------------------------
# wrappers


def _floating(op: str, x, promote: bool = False) -> Tensor:
    """``x`` as a Tensor, refusing integer and bool input before NumPy would make it float64;
    with ``promote`` (sigmoid, tanh: as torch.sigmoid and torch.tanh do) converting it to the
    default float dtype instead."""
    x = as_tensor(x)
    if promote and x.dtype.kind in "biu":
        return x.to(get_default_dtype())
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}: input must be floating point, got {x.dtype}; convert it first, e.g. "
            "x.float() (NumPy would silently compute in float64)."
        )
    return x


def step(x) -> Tensor:
    """The step function of the perceptron: 1 where x > 0, else 0 (gradient 0)."""
    return Step()(as_tensor(x))


def sigmoid(x) -> Tensor:
    """1 / (1 + exp(-x)), stable for large |x|.

    Examples
    --------
    >>> import zerograd
    >>> [round(v, 3) for v in sigmoid(zerograd.tensor([1.0, 2.0])).tolist()]
    [0.731, 0.881]
    """
    return Sigmoid()(_floating("sigmoid", x, promote=True))


def tanh(x) -> Tensor:
    """Hyperbolic tangent (integer input is converted to the default float dtype, as in
    PyTorch)."""
    return Tanh()(_floating("tanh", x, promote=True))


def relu(x) -> Tensor:
    """max(x, 0); integers stay integers, as in PyTorch, but bool is refused (as PyTorch does)."""
    x = as_tensor(x)
    if x.dtype.kind == "b":
        raise TypeError("relu: bool input is not supported; convert it first, e.g. x.float().")
    return ReLU()(x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise (``torch.nn.functional.leaky_relu``).

    A NaN or infinite ``negative_slope`` is refused (PyTorch takes it and returns NaN or inf)."""
    negative_slope = slope_arg("leaky_relu", "negative_slope", negative_slope)
    return LeakyReLU(negative_slope)(_floating("leaky_relu", x))


def elu(x, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise; a NaN or infinite ``alpha`` is refused."""
    return ELU(slope_arg("elu", "alpha", alpha))(_floating("elu", x))


def gelu(x, approximate: str = "none") -> Tensor:
    """x * Phi(x) (exact, with erf) or its tanh approximation (``approximate='tanh'``)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}.")
    return GELU(approximate)(_floating("gelu", x))


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` like PyTorch.

    ``beta`` must be positive and finite; ``threshold`` a number or inf (never linear), not NaN
    or -inf (PyTorch takes those)."""
    beta, threshold = softplus_args("softplus", beta, threshold)
    return Softplus(beta, threshold)(_floating("softplus", x))


def slope_arg(who: str, name: str, value) -> float:
    """LeakyReLU's ``negative_slope``, ELU's ``alpha``: any finite number, as a float."""
    return real_arg(who, name, value, "finite")


def softplus_args(who: str, beta, threshold) -> tuple:
    beta = real_arg(who, "beta", beta, "positive and finite", lambda v: v > 0)
    # inf: never linear (the formula is stable everywhere); -inf would make softplus the identity
    threshold = real_arg(
        who, "threshold", threshold, "a number or inf", lambda v: v > -math.inf, allow_inf=True
    )
    return beta, threshold


def _softmax_dim(op: str, x, dim, axis, dtype):
    """The input (cast to ``dtype`` first if given, as PyTorch's) and its softmax axis: None for a
    0-d tensor, which takes dim 0 or -1 and is its own row."""
    if dtype is not None:
        from .arithmetic import cast

        x = cast(as_tensor(x), dtype)
    x = _floating(op, x)
    d = normalize_dim(op, dim if axis is None else axis, x.ndim)
    return x, (d if x.ndim else None)


def softmax(x, dim: int = -1, *, axis=None, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (default the last), without overflow; ``dtype`` casts
    the input first (``torch.softmax``)."""
    x, d = _softmax_dim("softmax", x, dim, axis, dtype)
    return Softmax(d)(x)


def log_softmax(x, dim: int = -1, *, axis=None, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim`` (default the last), computed stably; ``dtype`` casts the
    input first."""
    x, d = _softmax_dim("log_softmax", x, dim, axis, dtype)
    return LogSoftmax(d)(x)


def identity(x) -> Tensor:
    """The identity activation (the output layer of a regression net): returns ``x``."""
    return as_tensor(x)
