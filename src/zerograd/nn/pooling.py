"""Pooling layers: ``MaxPool1d``, ``AvgPool1d``, ``MaxPool2d``, ``MaxUnpool2d``, ``AvgPool2d`` and
``AdaptiveAvgPool2d``."""

from __future__ import annotations

from ..autograd import Tensor
from ..functional.pooling import (
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool2d,
)
from .module import Module

__all__ = ["MaxPool1d", "AvgPool1d", "MaxPool2d", "MaxUnpool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


def _pair(value):
    """PyTorch's ``_pair``: an int repeated twice, a sequence as a tuple."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _single(value):
    """PyTorch's ``_single``: an int as a 1-tuple, a sequence as a tuple."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class MaxPool1d(Module):
    """Maximum over each window of K values along L (``torch.nn.MaxPool1d``).

    Input (N, C, L) or (C, L) -> output (N, C, OL) or (C, OL),
    OL = (L + 2P - D(K - 1) - 1) // S + 1 (rounded up with ``ceil_mode``); ``stride`` defaults
    to ``kernel_size``. With ``return_indices`` the forward returns ``(output, indices)``. See
    ``zerograd.functional.max_pool1d``.
    """

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x: Tensor):
        return max_pool1d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool1d(Module):
    """Mean over each window of K values along L (``torch.nn.AvgPool1d``).

    Input (N, C, L) or (C, L) -> output (N, C, OL) or (C, OL), OL = (L + 2P - K) // S + 1
    (rounded up with ``ceil_mode``); ``count_include_pad`` counts padded zeros in the mean. See
    ``zerograd.functional.avg_pool1d``.
    """

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        super().__init__()
        # PyTorch keeps 1-tuples here (its _single), so its repr shows them
        self.kernel_size = _single(kernel_size)
        self.stride = _single(kernel_size if stride is None else stride)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool1d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(Module):
    """Maximum over each KH x KW window (``torch.nn.MaxPool2d``).

    Input (N, C, H, W) or (C, H, W) -> output (N, C, OH, OW) or (C, OH, OW),
    OH = (H + 2 PH - DH (KH - 1) - 1) // SH + 1 (rounded up with ``ceil_mode``), OW likewise;
    ``stride`` defaults to ``kernel_size``. With ``return_indices`` the forward returns
    ``(output, indices)``, the indices as ``nn.MaxUnpool2d`` takes them. See
    ``zerograd.functional.max_pool2d``.

    Examples
    --------
    >>> import zerograd
    >>> MaxPool2d(3, stride=2, ceil_mode=True)(zerograd.ones(1, 2, 6, 6)).shape
    (1, 2, 3, 3)
    """

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x: Tensor):
        return max_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxUnpool2d(Module):
    """The partial inverse of ``MaxPool2d`` (``torch.nn.MaxUnpool2d``): every value goes back to
    where its index says, the rest is zero.

    ``forward(input, indices, output_size=None)``: input and indices (N, C, H, W) or (C, H, W)
    from ``MaxPool2d(..., return_indices=True)``; output (N, C, OH, OW), by default
    OH = (H - 1) SH - 2 PH + KH, OW likewise; pass ``output_size`` (the pooled input's size)
    when pooling dropped pixels. See ``zerograd.functional.max_unpool2d``.

    Examples
    --------
    >>> import zerograd
    >>> pool, unpool = MaxPool2d(2, return_indices=True), MaxUnpool2d(2)
    >>> x = zerograd.arange(25.0).reshape(1, 1, 5, 5)
    >>> y, idx = pool(x)
    >>> unpool(y, idx, output_size=x.shape).shape
    (1, 1, 5, 5)
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        # PyTorch keeps pairs here (its _pair), so its repr shows them
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(kernel_size if stride is None else stride)
        self.padding = _pair(padding)

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return max_unpool2d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over each KH x KW window (``torch.nn.AvgPool2d``).

    Input (N, C, H, W) or (C, H, W) -> output (N, C, OH, OW) or (C, OH, OW),
    OH = (H + 2 PH - KH) // SH + 1 (rounded up with ``ceil_mode``), OW likewise; ``stride``
    defaults to ``kernel_size``; ``count_include_pad`` counts padded zeros in the mean;
    ``divisor_override`` replaces the divisor. See ``zerograd.functional.avg_pool2d``.
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        # PyTorch's repr leaves ceil_mode, count_include_pad and divisor_override out; so does ours
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed (OH, OW) (``torch.nn.AdaptiveAvgPool2d``), H % OH == W % OW == 0.

    Input (N, C, H, W) or (C, H, W) -> output (N, C, OH, OW) or (C, OH, OW); ``output_size=1``
    is global average pooling.
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
