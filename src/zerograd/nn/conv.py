"""Convolution layers: ``Conv2d``."""

from __future__ import annotations

import math
import numbers

from .. import functional as F
from ..autograd import Tensor
from ..creation import empty
from ..functional.args import check_input_dtype, int_pair, layer_input
from ..functional.conv import conv2d, resolve_padding
from . import init
from .module import Module
from .parameter import Parameter

# padding_mode (PyTorch's names) -> F.pad's mode; 'zeros' is conv2d's own padding
_PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
                  "circular": "circular"}  # fmt: skip

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-D convolution over (N, C, H, W) images (``torch.nn.Conv2d``, zero padding only).

    y[n, o] = b[o] + sum over the input channels c of o's group of W[o, c] cross-correlated with
    x[n, c]; see ``zerograd.functional.conv.Conv2d`` for the formula and its gradients.
    weight: (out_channels, in_channels / groups, KH, KW), bias: (out_channels,).
    Input (N, in_channels, H, W) -> output (N, out_channels, OH, OW) (or one image without the
    N axis, as in PyTorch),
    OH = (H + 2 PH - DH (KH - 1) - 1) // SH + 1, OW likewise.

    Default init is PyTorch's: kaiming_uniform_(a=sqrt(5)) on the weight, which is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * KH * KW, and the bias
    from the same uniform. ``padding_mode`` 'reflect', 'replicate' or 'circular' pads with
    ``F.pad`` in that mode before convolving, as PyTorch does.

    Examples
    --------
    >>> Conv2d(1, 30, 5)
    Conv2d(1, 30, kernel_size=(5, 5), stride=(1, 1))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype=None,
    ):
        super().__init__()
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                "Conv2d: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                f"got {padding_mode!r}."
            )
        self.padding_mode = padding_mode
        for name, n in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("groups", groups),
        ):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
                raise ValueError(f"Conv2d: {name} must be a positive int, got {n!r}.")
        for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if n % groups:
                raise ValueError(f"Conv2d: {name}={n} must be divisible by groups={groups}.")
        self.kernel_size = int_pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = int_pair("Conv2d", "stride", stride, 1)
        self.dilation = int_pair("Conv2d", "dilation", dilation, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    "Conv2d: padding must be an int, a pair of ints, 'valid' or 'same', "
                    f"got {padding!r}."
                )
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(
                    f"Conv2d: padding='same' is not supported for strided convolutions "
                    f"(stride={self.stride}); use stride=1 or give the padding as numbers."
                )
            self.padding = padding
        else:
            self.padding = int_pair("Conv2d", "padding", padding, 0)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        KH, KW = self.kernel_size
        self.weight = Parameter(empty(out_channels, in_channels // groups, KH, KW, dtype=dtype))
        self.bias = Parameter(empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's choice
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        x = layer_input(self, x)
        channels = x.shape[-3] if x.ndim in (3, 4) else None
        if channels != self.in_channels:
            if x.ndim == 3:
                hint = " For a batch of one-channel images add the channel axis: x.unsqueeze(1)."
            elif x.ndim == 2:
                hint = " Reshape flat images first, e.g. x.reshape(len(x), C, H, W)."
            else:
                hint = ""
            raise ValueError(
                f"{self!r}: input has shape {x.shape} but must be (N, {self.in_channels}, H, W) "
                f"or one image ({self.in_channels}, H, W)."
                f"{hint}"
            )
        check_input_dtype(self, x, self.weight.dtype)
        padding = self.padding
        if self.padding_mode != "zeros":  # pad with the mode first, then convolve unpadded
            top, bottom, left, right = resolve_padding(
                "Conv2d", self.padding, self.stride, self.dilation, self.kernel_size
            )
            x = F.pad(x, (left, right, top, bottom), mode=_PADDING_MODES[self.padding_mode])
            padding = 0
        try:
            return conv2d(
                x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups
            )
        except ValueError as e:  # e.g. an image too small for the kernel: name the layer
            raise ValueError(f"{self!r}: {str(e).removeprefix('conv2d: ')}") from None

    def extra_repr(self) -> str:
        # the same fields, in the same order and with the same omissions, as PyTorch's repr
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s
