"""2-D pooling: ``max_pool2d``, ``avg_pool2d`` and ``adaptive_avg_pool2d`` over (N, C, H, W).

Both directions work one kernel offset (p, q) at a time: offset (p, q) of every window is a
strided (N, C, OH, OW) view of the padded input, so forward reduces KH*KW views with ``maximum``
or ``+`` and backward adds the gradient back into them. The loop runs KH*KW times, never over
pixels or the batch, and nothing the size of all the windows is ever copied.
"""

from __future__ import annotations

import math

from ..autograd import Function, Tensor
from ..backend import array_module
from .args import as_tensor, int_pair

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _pad(x, padding, value):
    """x with PH rows above and below and PW columns left and right set to value (x if none)."""
    (PH, PW) = padding
    if PH == 0 and PW == 0:
        return x
    xp = array_module(x)
    N, C, H, W = x.shape
    xpad = xp.full((N, C, H + 2 * PH, W + 2 * PW), value, dtype=x.dtype)
    xpad[:, :, PH : PH + H, PW : PW + W] = x
    return xpad


def _offsets(kernel, stride, OH, OW):
    """For each kernel offset (p, q): the rows and columns of the padded input it touches in every
    window, as strided slices; ``xpad[:, :, rows, cols]`` is then an (N, C, OH, OW) view."""
    (KH, KW), (SH, SW) = kernel, stride
    for p in range(KH):
        for q in range(KW):
            yield slice(p, p + SH * (OH - 1) + 1, SH), slice(q, q + SW * (OW - 1) + 1, SW)


def _out_size(x_shape, kernel, stride, padding):
    (H, W), (KH, KW), (SH, SW), (PH, PW) = x_shape[2:], kernel, stride, padding
    return (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1


class MaxPool2d(Function):
    """Maximum over each KH x KW window, the input padded with -inf (``F.max_pool2d``).

        y[n, c, i, j] = max_{p, q} xpad[n, c, i*SH + p, j*SW + q]
        gxpad[n, c, i*SH + p*, j*SW + q*] += gy[n, c, i, j]   with (p*, q*) the window's arg-max

    Forward is a running ``maximum`` over the KH*KW offset views (one pass each, no copy of the
    windows). Backward finds the arg-max again, offset by offset: the first offset whose value
    equals y takes the gradient, so ties go to the first maximum in row-major order inside the
    window, as PyTorch does (a window holding NaN routes to its first NaN). gx is gxpad without
    the padding. x: (N, C, H, W) -> y: (N, C, OH, OW), OH = (H + 2PH - KH) // SH + 1, OW likewise.
    """

    def __init__(self, kernel_size, stride, padding):
        self.kernel, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        xp = array_module(x)
        OH, OW = _out_size(x.shape, self.kernel, self.stride, self.padding)
        xpad = _pad(x, self.padding, -math.inf)
        y = None
        for rows, cols in _offsets(self.kernel, self.stride, OH, OW):
            if y is None:
                y = xpad[:, :, rows, cols].copy()
            else:
                xp.maximum(y, xpad[:, :, rows, cols], out=y)  # NaN propagates, as in PyTorch
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        xp = array_module(gy)
        x, y = self.saved
        (PH, PW), (KH, KW), (SH, SW) = self.padding, self.kernel, self.stride
        xpad = _pad(x, self.padding, -math.inf)
        OH, OW = y.shape[2:]
        # windows that tile the padded input exactly: each pixel is written once, no zeroing
        tiled = (SH, SW) == (KH, KW) and xpad.shape[2:] == (OH * KH, OW * KW)
        gxpad = (xp.empty if tiled else xp.zeros)(xpad.shape, dtype=gy.dtype)
        free = xp.ones(y.shape, dtype=bool)  # windows whose arg-max is not found yet
        for rows, cols in _offsets(self.kernel, self.stride, OH, OW):
            hit = xpad[:, :, rows, cols] == y
            hit &= free
            free &= ~hit
            if tiled:
                xp.multiply(gy, hit, out=gxpad[:, :, rows, cols])
            else:  # windows overlap (gradients add up) or leave gaps (which stay zero)
                gxpad[:, :, rows, cols] += gy * hit
        if free.any():  # a window holding NaN equals no offset (NaN != NaN): its first NaN
            for rows, cols in _offsets(self.kernel, self.stride, OH, OW):
                hit = xp.isnan(xpad[:, :, rows, cols])
                hit &= free
                free &= ~hit
                gxpad[:, :, rows, cols] += gy * hit
        H, W = x.shape[2:]
        return gxpad[:, :, PH : PH + H, PW : PW + W]


class AvgPool2d(Function):
    """Mean over each KH x KW window, the input padded with zeros (``F.avg_pool2d``).

        y[n, c, i, j] = sum_{p, q} xpad[n, c, i*SH + p, j*SW + q] / d[i, j]
        gxpad[n, c, i*SH + p, j*SW + q] += gy[n, c, i, j] / d[i, j]   for every (p, q)

    d = KH*KW with ``count_include_pad`` (the padded zeros count), else the number of real
    (unpadded) pixels in window (i, j). Both directions run over the KH*KW offset views.
    gx is gxpad without the padding.
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
        OH, OW = _out_size((1, 1, H, W), self.kernel, self.stride, self.padding)
        ones = _pad(xp.ones((1, 1, H, W), dtype=dtype), self.padding, 0)[0, 0]
        return sum(ones[rows, cols] for rows, cols in _offsets(self.kernel, self.stride, OH, OW))

    def forward(self, x):
        xp = array_module(x)
        N, C, H, W = self.x_shape = x.shape
        OH, OW = _out_size(x.shape, self.kernel, self.stride, self.padding)
        xpad = _pad(x, self.padding, 0)
        y = xp.zeros((N, C, OH, OW), dtype=x.dtype)
        for rows, cols in _offsets(self.kernel, self.stride, OH, OW):
            y += xpad[:, :, rows, cols]
        d = self._divisor(xp, H, W, x.dtype)
        y /= d
        self.save_for_backward(d)  # an int, or the (OH, OW) counts without count_include_pad
        return y

    def backward(self, gy):
        (d,) = self.saved
        xp = array_module(gy)
        N, C, H, W = self.x_shape
        (PH, PW) = self.padding
        g = gy / d  # the share of each pixel in its window
        gxpad = xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=gy.dtype)
        for rows, cols in _offsets(self.kernel, self.stride, *gy.shape[2:]):
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


def _check_input(op: str, x: Tensor) -> None:
    if x.ndim != 4:
        hint = " Add the batch dimension with x.unsqueeze(0)." if x.ndim == 3 else ""
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {x.shape}.{hint}")
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}: input must be floating point, got {x.dtype}; convert it first, e.g. x.float()."
        )


def _pool_args(op: str, x: Tensor, kernel_size, stride, padding) -> tuple:
    """Validated (kernel, stride, padding) pairs for a 4-D input with an output of size >= 1."""
    _check_input(op, x)
    kernel = int_pair(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else int_pair(op, "stride", stride, 1)
    pad = int_pair(op, "padding", padding, 0)
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
    out = int_pair("adaptive_avg_pool2d", "output_size", sizes, 1)
    if H % out[0] or W % out[1]:
        raise NotImplementedError(
            f"adaptive_avg_pool2d: input of size (H, W) = ({H}, {W}) with output_size={out} "
            "needs uneven windows, which are not implemented; only sizes that divide H and W "
            "are (1 is global average pooling). Use avg_pool2d or crop the input."
        )
    return AdaptiveAvgPool2d(out)(x)
