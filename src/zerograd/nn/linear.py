"""Linear, Identity and Flatten layers."""

from __future__ import annotations

import math

from .. import functional as F
from ..autograd import Tensor
from ..creation import empty
from ..functional.args import check_input_dtype, layer_input
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Linear", "Identity", "Flatten"]


class Linear(Module):
    """y = x W^T + b (``torch.nn.Linear``): weight (out_features, in_features), bias (out_features).

    Default init is PyTorch's: W and b from U(-1/sqrt(in_features), 1/sqrt(in_features)).
    Input (*, in_features) -> output (*, out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive int, got {n!r}.")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's choice
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:  # PyTorch's name: forward(input=x) works too
        x = layer_input(self, input)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            hint = " Flatten the images first, e.g. nn.Flatten()." if x.ndim > 2 else ""
            raise ValueError(
                f"{self!r}: input has shape {x.shape} but its last dimension must be "
                f"{self.in_features}.{hint}"
            )
        # NumPy would compute int or float64 input in float64, silently changing the dtype
        check_input_dtype(self, x, self.weight.dtype)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input (a placeholder, e.g. a removed head)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge dims ``start_dim``..``end_dim`` (default: all but the batch dim), ``nn.Flatten``."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
