"""2-D pooling: ``max_pool2d``, ``avg_pool2d`` and ``adaptive_avg_pool2d`` over (N, C, H, W).

Forward takes a window view of the padded input (``sliding_window_view`` in the array module's
``lib.stride_tricks``, no copy); backward adds the upstream gradient back one kernel offset (p, q)
at a time: offset (p, q) of every window lands on a strided grid of the padded input, so the loop
runs KH*KW times, never over pixels or the batch.
"""

from __future__ import annotations

import math
import numbers

from ..autograd import Function, Tensor
from ..backend import array_module
from ._args import as_tensor

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _windows(xpad, kernel, stride):
    """(N, C, H + 2PH, W + 2PW) -> (N, C, OH, OW, KH, KW), a strided view (no copy)."""
    xp = array_module(xpad)
    win = xp.lib.stride_tricks.sliding_window_view(xpad, kernel, axis=(2, 3))
    return win[:, :, :: stride[0], :: stride[1]]


def _offset_slices(p, q, stride, OH, OW):
    """Rows and columns of the padded input that kernel offset (p, q) of each window touches."""
    (SH, SW) = stride
    return slice(p, p + SH * (OH - 1) + 1, SH), slice(q, q + SW * (OW - 1) + 1, SW)


class MaxPool2d(Function):
    """Maximum over each KH x KW window, the input padded with -inf (``F.max_pool2d``).

        y[n, c, i, j] = max_{p, q} xpad[n, c, i*SH + p, j*SW + q]
        gxpad[n, c, i*SH + p*, j*SW + q*] += gy[n, c, i, j]   with (p*, q*) the window's arg-max

    Ties go to the first maximum in row-major order inside the window, as PyTorch does; gx is
    gxpad without the padding. Only the arg-max offsets (N, C, OH, OW) are kept for backward.
    x: (N, C, H, W) -> y: (N, C, OH, OW), OH = (H + 2PH - KH) // SH + 1, OW likewise.
    """

    def __init__(self, kernel_size, stride, padding):
        self.kernel, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        xp = array_module(x)
        (KH, KW), (PH, PW) = self.kernel, self.padding
        self.x_shape = x.shape
        xpad = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)), constant_values=-math.inf)
        win = _windows(xpad, self.kernel, self.stride)
        N, C, OH, OW = win.shape[:4]
        flat = win.reshape(N, C, OH, OW, KH * KW)  # the one copy: windows laid out flat
        self.idx = flat.argmax(axis=-1)  # first maximum wins ties, PyTorch's convention
        return xp.take_along_axis(flat, self.idx[..., None], axis=-1)[..., 0]

    def backward(self, gy):
        xp = array_module(gy)
        N, C, H, W = self.x_shape
        (KH, KW), (PH, PW) = self.kernel, self.padding
        OH, OW = gy.shape[2:]
        gxpad = xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=gy.dtype)
        for p in range(KH):
            for q in range(KW):
                rows, cols = _offset_slices(p, q, self.stride, OH, OW)
                gxpad[:, :, rows, cols] += gy * (self.idx == p * KW + q)
        return gxpad[:, :, PH : PH + H, PW : PW + W]


class AvgPool2d(Function):
    """Mean over each KH x KW window, the input padded with zeros (``F.avg_pool2d``).

        y[n, c, i, j] = sum_{p, q} xpad[n, c, i*SH + p, j*SW + q] / d[i, j]
        gxpad[n, c, i*SH + p, j*SW + q] += gy[n, c, i, j] / d[i, j]   for every (p, q)

    d = KH*KW with ``count_include_pad`` (the padded zeros count), else the number of real
    (unpadded) pixels in window (i, j). gx is gxpad without the padding.
    x: (N, C, H, W) -> y: (N, C, OH, OW), OH = (H + 2PH - KH) // SH + 1, OW likewise.
    """

    def __init__(self, kernel_size, stride, padding, count_include_pad=True):
        self.kernel, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = count_include_pad

    def _divisor(self, xp, H, W, dtype):
        """KH*KW, or the (OH, OW) count of real pixels per window."""
        (KH, KW), (PH, PW) = self.kernel, self.padding
        if self.count_include_pad or (PH == 0 and PW == 0):
            return KH * KW  # a Python int keeps float32 float32
        ones = xp.pad(xp.ones((H, W), dtype=dtype), ((PH, PH), (PW, PW)))
        win = xp.lib.stride_tricks.sliding_window_view(ones, self.kernel)
        return win[:: self.stride[0], :: self.stride[1]].sum(axis=(-2, -1))  # (OH, OW)

    def forward(self, x):
        xp = array_module(x)
        (PH, PW) = self.padding
        N, C, H, W = self.x_shape = x.shape
        xpad = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))
        self.d = self._divisor(xp, H, W, x.dtype)
        return _windows(xpad, self.kernel, self.stride).sum(axis=(-2, -1)) / self.d

    def backward(self, gy):
        xp = array_module(gy)
        N, C, H, W = self.x_shape
        (KH, KW), (PH, PW) = self.kernel, self.padding
        OH, OW = gy.shape[2:]
        g = gy / self.d  # the share of each pixel in its window
        gxpad = xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=gy.dtype)
        for p in range(KH):
            for q in range(KW):
                rows, cols = _offset_slices(p, q, self.stride, OH, OW)
                gxpad[:, :, rows, cols] += g
        return gxpad[:, :, PH : PH + H, PW : PW + W]


class AdaptiveAvgPool2d(AvgPool2d):
    """Average pooling to a fixed output size (OH, OW) (``F.adaptive_avg_pool2d``).

    Only the case H % OH == 0 and W % OW == 0, where PyTorch's adaptive windows are the regular
    ones: kernel = stride = (H // OH, W // OW), no padding, so y and its gradient are AvgPool2d's.
    Output size (1, 1) is global average pooling, y[n, c] = mean of x[n, c] over (H, W).
    x: (N, C, H, W) -> y: (N, C, OH, OW).
    """

    def __init__(self, output_size):
        super().__init__(None, None, (0, 0))
        self.output_size = output_size

    def forward(self, x):
        (OH, OW), (H, W) = self.output_size, x.shape[2:]
        self.kernel = self.stride = (H // OH, W // OW)
        return super().forward(x)


def _pair(op: str, name: str, value, minimum: int) -> tuple:
    """An int or a pair of ints as a pair, each >= minimum (PyTorch's ``_pair``)."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(pair) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum for v in pair
    )
    if not ok:
        raise ValueError(
            f"{op}: {name} must be an int or a pair of ints, each >= {minimum}, got {value!r}."
        )
    return tuple(int(v) for v in pair)


def _check_input(op: str, x: Tensor) -> None:
    if x.ndim != 4:
        hint = " Add the batch dimension with x.unsqueeze(0)." if x.ndim == 3 else ""
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {x.shape}.{hint}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype}.")


def _pool_args(op: str, x: Tensor, kernel_size, stride, padding) -> tuple:
    """Validated (kernel, stride, padding) pairs for a 4-D input with an output of size >= 1."""
    _check_input(op, x)
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pair(op, "stride", stride, 1)
    pad = _pair(op, "padding", padding, 0)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ValueError(
            f"{op}: padding={pad} must be at most half of kernel_size={kernel} (PyTorch's rule, "
            "so every window holds a real pixel); use a smaller padding."
        )
    H, W = x.shape[2:]
    out = tuple((n + 2 * p - k) // s + 1 for n, p, k, s in zip((H, W), pad, kernel, stride))
    if min(out) < 1:
        raise ValueError(
            f"{op}: input of size (H, W) = ({H}, {W}) is too small for kernel_size={kernel}, "
            f"stride={stride}, padding={pad}: the output size (H + 2P - K) // S + 1 is {out}. "
            "Pad the input or use a smaller kernel."
        )
    return kernel, stride, pad


def max_pool2d(input, kernel_size, stride=None, padding=0) -> Tensor:
    """Max pooling of (N, C, H, W) images, ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    input : Tensor
        (N, C, H, W), floating point.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (non-overlapping windows).
    padding : int or (int, int)
        -inf added on both sides; at most half the kernel size, as in PyTorch.

    Returns
    -------
    Tensor
        (N, C, OH, OW), OH = (H + 2 PH - KH) // SH + 1, OW likewise. The gradient goes to the
        first maximum of each window. ``dilation``, ``ceil_mode`` and ``return_indices`` are not
        supported.

    Raises
    ------
    ValueError
        For a non 4-D input, bad kernel_size/stride/padding, or an input too small for the kernel.

    Examples
    --------
    >>> import zerograd
    >>> max_pool2d(zerograd.ones(2, 3, 8, 8), 2).shape
    (2, 3, 4, 4)
    >>> max_pool2d(zerograd.ones(2, 3, 4, 4), 5)
    Traceback (most recent call last):
    ...
    ValueError: max_pool2d: input of size (H, W) = (4, 4) is too small for ...
    """
    x = as_tensor(input)
    return MaxPool2d(*_pool_args("max_pool2d", x, kernel_size, stride, padding))(x)


def avg_pool2d(input, kernel_size, stride=None, padding=0, count_include_pad=True) -> Tensor:
    """Average pooling of (N, C, H, W) images, ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    input : Tensor
        (N, C, H, W), floating point.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int)
        Zeros added on both sides; at most half the kernel size, as in PyTorch.
    count_include_pad : bool
        Divide by KH*KW (True) or by the number of unpadded pixels in each window (False).

    Returns
    -------
    Tensor
        (N, C, OH, OW), OH = (H + 2 PH - KH) // SH + 1, OW likewise. ``ceil_mode`` and
        ``divisor_override`` are not supported.

    Raises
    ------
    ValueError
        For a non 4-D input, bad kernel_size/stride/padding, or an input too small for the kernel.

    Examples
    --------
    >>> import zerograd
    >>> avg_pool2d(zerograd.ones(1, 1, 4, 4), 2, padding=1, count_include_pad=False).tolist()
    [[[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]]
    """
    x = as_tensor(input)
    kernel, stride, pad = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
    return AvgPool2d(kernel, stride, pad, bool(count_include_pad))(x)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average pooling to an (OH, OW) output, ``torch.nn.functional.adaptive_avg_pool2d``.

    Parameters
    ----------
    input : Tensor
        (N, C, H, W), floating point.
    output_size : int, or pair of int or None
        (OH, OW); None keeps that input size. 1 is global average pooling.

    Returns
    -------
    Tensor
        (N, C, OH, OW).

    Raises
    ------
    NotImplementedError
        When H is not a multiple of OH or W not a multiple of OW (PyTorch's overlapping,
        uneven windows are not implemented).

    Examples
    --------
    >>> import zerograd
    >>> adaptive_avg_pool2d(zerograd.ones(2, 3, 7, 7), 1).shape
    (2, 3, 1, 1)
    """
    x = as_tensor(input)
    _check_input("adaptive_avg_pool2d", x)
    H, W = x.shape[2:]
    sizes = output_size
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        sizes = tuple(n if s is None else s for s, n in zip(output_size, (H, W)))  # None: keep
    out = _pair("adaptive_avg_pool2d", "output_size", sizes, 1)
    if H % out[0] or W % out[1]:
        raise NotImplementedError(
            f"adaptive_avg_pool2d: input of size (H, W) = ({H}, {W}) with output_size={out} "
            "needs uneven windows, which are not implemented; only sizes that divide H and W "
            "are (1 is global average pooling). Use avg_pool2d or crop the input."
        )
    return AdaptiveAvgPool2d(out)(x)
