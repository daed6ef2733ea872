"""Activation functions as modules (each calls the functional op of the same name)."""

from __future__ import annotations

from .. import functional as F
from ..functional.activations import slope_arg, softplus_args
from .module import Module

__all__ = [
    "Step",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
]


class Step(Module):
    """The perceptron's step: 1 where x > 0 else 0 (no PyTorch twin; gradient 0)."""

    def forward(self, x):
        return F.step(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) (``nn.Sigmoid``)."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x) (``nn.Tanh``)."""

    def forward(self, x):
        return F.tanh(x)


class ReLU(Module):
    """max(x, 0) (``nn.ReLU``; ``inplace`` accepted for compatibility, a new tensor is returned)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x (``nn.LeakyReLU``; ``inplace`` as ``ReLU``'s)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = slope_arg("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x if x > 0 else alpha (exp(x) - 1) (``nn.ELU``; ``inplace`` as ``ReLU``'s)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = slope_arg("ELU", "alpha", alpha)
        self.inplace = inplace

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x * Phi(x) (``nn.GELU``; ``approximate='tanh'`` for the tanh form)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta (``nn.Softplus``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = softplus_args("Softplus", beta, threshold)

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Softmax along ``dim`` (``nn.Softmax``)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim`` (``nn.LogSoftmax``)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
