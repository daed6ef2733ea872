"""Pooling layers: ``MaxPool2d``, ``AvgPool2d`` and ``AdaptiveAvgPool2d``."""

from __future__ import annotations

from ..autograd import Tensor
from ..functional.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


class MaxPool2d(Module):
    """Maximum over each KH x KW window (``torch.nn.MaxPool2d``, no dilation or ceil_mode).

    Input (N, C, H, W) -> output (N, C, OH, OW), OH = (H + 2 PH - KH) // SH + 1, OW likewise;
    ``stride`` defaults to ``kernel_size``. See ``zerograd.functional.pooling.MaxPool2d``.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        # dilation and ceil_mode are fixed, shown so the repr matches PyTorch's
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            "dilation=1, ceil_mode=False"
        )


class AvgPool2d(Module):
    """Mean over each KH x KW window (``torch.nn.AvgPool2d``, no ceil_mode or divisor_override).

    Input (N, C, H, W) -> output (N, C, OH, OW), OH = (H + 2 PH - KH) // SH + 1, OW likewise;
    ``stride`` defaults to ``kernel_size``; ``count_include_pad`` counts padded zeros in the mean.
    """

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self) -> str:
        # PyTorch's repr leaves count_include_pad out; so does ours
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed (OH, OW) (``torch.nn.AdaptiveAvgPool2d``), H % OH == W % OW == 0.

    Input (N, C, H, W) -> output (N, C, OH, OW); ``output_size=1`` is global average pooling.
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
