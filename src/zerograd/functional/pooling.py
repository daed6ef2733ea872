"""Pooling: ``max_pool2d``, ``max_unpool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``, and
``max_pool1d`` and ``avg_pool1d`` (the 2-D ops over (N, C, 1, L)).

Both directions of max and average pooling work one kernel offset (p, q) at a time: offset (p, q)
of every window is a strided (N, C, OH, OW) view of the padded input, so forward reduces KH*KW
views with ``maximum`` or ``+`` and backward adds the gradient back into them. The loop runs
KH*KW times, never over pixels or the batch, and nothing the size of all the windows is copied.

The window geometry is PyTorch's, per spatial dim with input size n, kernel k, stride s,
padding p and dilation d (max pooling only):

    out = (n + 2p - d(k - 1) - 1) // s + 1                  floor mode (the default)
    out = ceil((n + 2p - d(k - 1) - 1) / s) + 1             ceil_mode=True, then minus one if
                                                            the last window would start at or
                                                            after n + p (in the right padding)

A ceil-mode window may hang past the padded input; the input is padded further on the right
(with -inf for max, zeros for average), and the average's divisor leaves the overhang out.
"""

from __future__ import annotations

import math
import numbers

from ..autograd import Function, Tensor
from ..backend import array_module
from .args import as_tensor, int_pair
from .shape import reshape, squeeze, unsqueeze

__all__ = [
    "max_pool1d",
    "avg_pool1d",
    "max_pool2d",
    "max_unpool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
]


def _out_len(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output length along one dim, PyTorch's ``pooling_output_shape``."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window would start in the right padding: PyTorch drops it
    return out


class _Windows:
    """The pooling windows over an (H, W) input: kernel, stride, padding, dilation, ceil_mode."""

    def __init__(self, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def out_size(self, H: int, W: int) -> tuple:
        dims = zip((H, W), self.kernel, self.stride, self.padding, self.dilation)
        return tuple(_out_len(n, k, s, p, d, self.ceil_mode) for n, k, s, p, d in dims)

    def pads(self, H: int, W: int, OH: int, OW: int) -> tuple:
        """((top, bottom), (left, right)): the padding, and past it on the bottom and right
        whatever the ceil-mode windows hang over, so every window is a view of the padded input."""
        dims = zip((H, W), (OH, OW), self.kernel, self.stride, self.padding, self.dilation)
        return tuple(
            (p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)) for n, o, k, s, p, d in dims
        )

    def offsets(self, OH: int, OW: int):
        """For each kernel offset (p, q), in row-major order: the rows and columns of the padded
        input it touches in every window, as strided slices; ``xpad[:, :, rows, cols]`` is then an
        (N, C, OH, OW) view."""
        (KH, KW), (SH, SW), (DH, DW) = self.kernel, self.stride, self.dilation
        for p in range(KH):
            for q in range(KW):
                rows = slice(p * DH, p * DH + SH * (OH - 1) + 1, SH)
                cols = slice(q * DW, q * DW + SW * (OW - 1) + 1, SW)
                yield rows, cols


def _pad(x, pads, value):
    """x with pads = ((top, bottom), (left, right)) rows and columns set to value (x if none)."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    xp = array_module(x)
    N, C, H, W = x.shape
    xpad = xp.full((N, C, top + H + bottom, left + W + right), value, dtype=x.dtype)
    xpad[:, :, top : top + H, left : left + W] = x
    return xpad


def _argmax_hits(x, y, windows, pads):
    """For each window, where its maximum y was taken: yields (k, rows, cols, hit), k the kernel
    offset's number p*KW + q, hit an (N, C, OH, OW) bool mask; every window is hit exactly once.

    PyTorch's rule (``val > maxval || isnan(val)``, scanning the window row-major from its first
    real pixel): the first pixel equal to the maximum, or the last NaN of a window holding NaN.
    The padding is NaN here, so it equals no maximum (not even -inf, whose windows take their
    first real pixel, as in PyTorch).
    """
    xp = array_module(x)
    offsets = list(windows.offsets(*y.shape[2:]))
    xpad = _pad(x, pads, math.nan)
    free = xp.ones(y.shape, dtype=bool)  # windows whose arg-max is not found yet
    for k, (rows, cols) in enumerate(offsets):
        hit = xpad[:, :, rows, cols] == y
        hit &= free
        free &= ~hit
        yield k, rows, cols, hit
    if free.any():  # a window holding NaN equals no offset (NaN != NaN): its last NaN
        xpad = _pad(x, pads, -math.inf)
        for k in reversed(range(len(offsets))):
            rows, cols = offsets[k]
            hit = xp.isnan(xpad[:, :, rows, cols])
            hit &= free
            free &= ~hit
            yield k, rows, cols, hit


class MaxPool2d(Function):
    """Maximum over each KH x KW window, the input padded with -inf (``F.max_pool2d``).

        y[n, c, i, j] = max_{p, q} xpad[n, c, i*SH + p*DH, j*SW + q*DW]
        gxpad[n, c, i*SH + p*DH, j*SW + q*DW] += gy[n, c, i, j]   (p, q) the window's arg-max

    Forward is a running ``maximum`` over the KH*KW offset views (one pass each, no copy of the
    windows). Backward finds the arg-max again, offset by offset (``_argmax_hits``: the first
    maximum in row-major order inside the window, the last NaN of a window holding NaN, never a
    padded position, as PyTorch). gx is gxpad without the padding. With ``return_indices`` the
    arg-max's flat index into the unpadded H x W plane is kept in ``self.indices`` (int64).
    x: (N, C, H, W) -> y: (N, C, OH, OW); OH and OW as in the module docstring.
    """

    def __init__(self, windows: _Windows, return_indices: bool = False):
        self.windows, self.return_indices = windows, return_indices
        self.indices = None

    def forward(self, x):
        xp = array_module(x)
        OH, OW = self.windows.out_size(*x.shape[2:])
        pads = self.windows.pads(*x.shape[2:], OH, OW)
        xpad = _pad(x, pads, -math.inf)
        y = None
        for rows, cols in self.windows.offsets(OH, OW):
            if y is None:
                y = xpad[:, :, rows, cols].copy()
            else:
                xp.maximum(y, xpad[:, :, rows, cols], out=y)  # NaN propagates, as in PyTorch
        if self.return_indices:
            self.indices = self._indices(x, y, pads)
        self.save_for_backward(x, y)
        return y

    def _indices(self, x, y, pads):
        """idx[n, c, i, j] = h*W + w of the window's arg-max, (h, w) in the unpadded input."""
        xp = array_module(x)
        H, W = x.shape[2:]
        OH, OW = y.shape[2:]
        (SH, SW), (DH, DW), ((top, _), (left, _)) = self.windows.stride, self.windows.dilation, pads
        # flat index of each window's offset (0, 0), which may lie in the padding
        first = (xp.arange(OH) * SH - top)[:, None] * W + (xp.arange(OW) * SW - left)[None, :]
        idx = xp.zeros(y.shape, dtype=xp.int64)
        KW = self.windows.kernel[1]
        for k, _, _, hit in _argmax_hits(x, y, self.windows, pads):
            p, q = divmod(k, KW)
            xp.copyto(idx, first + (p * DH * W + q * DW), where=hit)
        return idx

    def backward(self, gy):
        xp = array_module(gy)
        x, y = self.saved
        H, W = x.shape[2:]
        OH, OW = y.shape[2:]
        (KH, KW), (SH, SW) = self.windows.kernel, self.windows.stride
        (top, bottom), (left, right) = pads = self.windows.pads(H, W, OH, OW)
        shape = x.shape[:2] + (top + H + bottom, left + W + right)
        # windows that tile the padded input exactly: each pixel is written once, no zeroing
        tiled = (SH, SW) == (KH, KW) and self.windows.dilation == (1, 1)
        tiled = tiled and shape[2:] == (OH * KH, OW * KW)
        gxpad = (xp.empty if tiled else xp.zeros)(shape, dtype=gy.dtype)
        hits = _argmax_hits(x, y, self.windows, pads)
        for n, (_, rows, cols, hit) in enumerate(hits):
            if tiled and n < KH * KW:  # the first pass writes every pixel once
                xp.multiply(gy, hit, out=gxpad[:, :, rows, cols])
            else:  # windows overlap (gradients add up) or leave gaps (which stay zero)
                gxpad[:, :, rows, cols] += gy * hit
        return gxpad[:, :, top : top + H, left : left + W]


class MaxUnpool2d(Function):
    """Scatter each value to the flat position its index names (``F.max_unpool2d``).

        y[n, c].flat[idx[n, c, i, j]] = x[n, c, i, j],   every other y is 0
        gx[n, c, i, j] = gy[n, c].flat[idx[n, c, i, j]]

    The inverse of ``max_pool2d(..., return_indices=True)`` on the maxima it kept. Two values
    sent to one position: the last one (row-major) stays, as PyTorch's CPU loop; the gradient is
    the gather above for both, as PyTorch's.
    x, idx: (N, C, H, W) -> y: (N, C, OH, OW).
    """

    def __init__(self, indices, output_size):
        self.indices, self.output_size = indices, output_size

    def forward(self, x):
        xp = array_module(x)
        N, C = self.x_shape = x.shape[:2]
        OH, OW = self.output_size
        y = xp.zeros((N, C, OH * OW), dtype=x.dtype)
        # (N, C, H, W) -> (N, C, H*W): positions along the last axis of y's (N, C, OH*OW)
        xp.put_along_axis(y, self.indices.reshape(N, C, -1), x.reshape(N, C, -1), axis=2)
        return y.reshape(N, C, OH, OW)

    def backward(self, gy):
        xp = array_module(gy)
        N, C = gy.shape[:2]
        gx = xp.take_along_axis(gy.reshape(N, C, -1), self.indices.reshape(N, C, -1), axis=2)
        return gx.reshape(self.indices.shape)


class AvgPool2d(Function):
    """Mean over each KH x KW window, the input padded with zeros (``F.avg_pool2d``).

        y[n, c, i, j] = sum_{p, q} xpad[n, c, i*SH + p, j*SW + q] / d[i, j]
        gxpad[n, c, i*SH + p, j*SW + q] += gy[n, c, i, j] / d[i, j]   for every (p, q)

    The divisor d, PyTorch's: ``divisor_override`` if given; else, with ``count_include_pad``,
    the window's size clipped to the padded input (KH*KW, less the overhang of a ceil-mode
    window past the padding); else the number of real (unpadded) pixels in the window.
    Both directions run over the KH*KW offset views. gx is gxpad without the padding.
    x: (N, C, H, W) -> y: (N, C, OH, OW); OH and OW as in the module docstring.
    """

    def __init__(self, windows: _Windows, count_include_pad=True, divisor_override=None):
        self.windows = windows
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def _divisor(self, xp, H, W, OH, OW, dtype):
        """An int (keeps float32 float32), or the (OH, OW) divisors of the windows."""
        if self.divisor_override is not None:
            return self.divisor_override
        (KH, KW), (SH, SW) = self.windows.kernel, self.windows.stride
        (PH, PW) = self.windows.padding
        inside = self.windows.pads(H, W, OH, OW) == ((PH, PH), (PW, PW))  # no ceil overhang
        if inside and (self.count_include_pad or PH == PW == 0):
            return KH * KW  # a Python int keeps float32 float32
        sizes = []
        for n, o, k, s, p in ((H, OH, KH, SH, PH), (W, OW, KW, SW, PW)):
            start = xp.arange(o) * s - p  # in unpadded coordinates
            end = xp.minimum(start + k, n + p)  # clipped to the padded input
            if not self.count_include_pad:  # clipped to the input itself
                start, end = xp.maximum(start, 0), xp.minimum(end, n)
            sizes.append((end - start).astype(dtype))
        return sizes[0][:, None] * sizes[1][None, :]

    def forward(self, x):
        xp = array_module(x)
        N, C, H, W = self.x_shape = x.shape
        OH, OW = self.windows.out_size(H, W)
        xpad = _pad(x, self.windows.pads(H, W, OH, OW), 0)
        y = xp.zeros((N, C, OH, OW), dtype=x.dtype)
        for rows, cols in self.windows.offsets(OH, OW):
            y += xpad[:, :, rows, cols]
        d = self._divisor(xp, H, W, OH, OW, x.dtype)
        y /= d
        self.save_for_backward(d)  # an int, or the (OH, OW) divisors
        return y

    def backward(self, gy):
        (d,) = self.saved
        xp = array_module(gy)
        N, C, H, W = self.x_shape
        (top, bottom), (left, right) = self.windows.pads(H, W, *gy.shape[2:])
        g = gy / d  # the share of each pixel in its window
        gxpad = xp.zeros((N, C, top + H + bottom, left + W + right), dtype=gy.dtype)
        for rows, cols in self.windows.offsets(*gy.shape[2:]):
            gxpad[:, :, rows, cols] += g
        return gxpad[:, :, top : top + H, left : left + W]


class AdaptiveAvgPool2d(AvgPool2d):
    """Average pooling to a fixed output size (OH, OW) (``F.adaptive_avg_pool2d``).

    Only the case H % OH == 0 and W % OW == 0, where PyTorch's adaptive windows are the regular
    ones: kernel = stride = (H // OH, W // OW), no padding, so y and its gradient are AvgPool2d's.
    Output size (1, 1) is global average pooling, y[n, c] = mean of x[n, c] over (H, W).
    x: (N, C, H, W) -> y: (N, C, OH, OW).
    """

    def __init__(self, output_size):
        super().__init__(None)
        self.output_size = output_size

    def forward(self, x):
        (OH, OW), (H, W) = self.output_size, x.shape[2:]
        kernel = (H // OH, W // OW)
        self.windows = _Windows(kernel, kernel, (0, 0))
        return super().forward(x)


class AdaptiveAvgPool2dUneven(Function):
    """Average pooling to (OH, OW) with PyTorch's adaptive windows when they are uneven: output
    row i averages input rows floor(i H / OH) .. ceil((i + 1) H / OH) - 1 (windows may overlap),
    columns likewise. Averaging a rectangle is averaging its rows, then its columns, so

    y = A x B^T,   gx = A^T gy B

    with A (OH, H): A[i, h] = 1 / (size of window i) for h in window i, else 0; B (OW, W) the same
    for the columns. x: (N, C, H, W) -> y: (N, C, OH, OW).
    """

    def __init__(self, output_size):
        self.output_size = output_size

    @staticmethod
    def _averaging(xp, n_in: int, n_out: int, dtype):
        i = xp.arange(n_out)
        start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)  # floor, ceil
        h = xp.arange(n_in)
        inside = (h >= start[:, None]) & (h < end[:, None])
        return (inside / (end - start)[:, None]).astype(dtype)

    def forward(self, x):
        xp = array_module(x)
        (OH, OW), (H, W) = self.output_size, x.shape[2:]
        A, B = self._averaging(xp, H, OH, x.dtype), self._averaging(xp, W, OW, x.dtype)
        self.save_for_backward(A, B)
        return A @ x @ B.T

    def backward(self, gy):
        A, B = self.saved
        return A.T @ gy @ B


def _check_input(op: str, x: Tensor) -> bool:
    """Check a pooling input; True when it is batched (N, C, H, W), False for (C, H, W)."""
    if x.ndim not in (3, 4):
        hint = " Add the channel dimension with x.unsqueeze(0)." if x.ndim == 2 else ""
        raise ValueError(
            f"{op}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {x.shape}.{hint}"
        )
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}: input must be floating point, got {x.dtype}; convert it first, e.g. x.float()."
        )
    return x.ndim == 4


def _flag(op: str, name: str, value) -> bool:
    if not isinstance(value, numbers.Integral):  # bool is one, as are NumPy's bools and 0 / 1
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}.")
    return bool(value)


def _pair(op: str, name: str, value, minimum: int) -> tuple:
    """An int, a pair of ints, or one int in a tuple (PyTorch takes ``(1,)`` for both dims)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = (value[0], value[0])
    return int_pair(op, name, value, minimum)


def _stride(op: str, stride, kernel: tuple) -> tuple:
    """PyTorch's default: stride None (or an empty list) is kernel_size."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return kernel
    return _pair(op, "stride", stride, 1)


def _windows(op, x, kernel_size, stride, padding, dilation=1, ceil_mode=False) -> _Windows:
    """Validated windows over the input x, with an output of size >= 1."""
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    stride = _stride(op, stride, kernel)
    pad = _pair(op, "padding", padding, 0)
    dilation = _pair(op, "dilation", dilation, 1)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ValueError(
            f"{op}: padding={pad} must be at most half of kernel_size={kernel} (PyTorch's rule, "
            "so every window holds a real pixel); use a smaller padding."
        )
    windows = _Windows(kernel, stride, pad, dilation, _flag(op, "ceil_mode", ceil_mode))
    H, W = x.shape[-2:]
    out = windows.out_size(H, W)
    if min(out) < 1:
        extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        raise ValueError(
            f"{op}: input of size (H, W) = ({H}, {W}) is too small for kernel_size={kernel}, "
            f"stride={stride}, padding={pad}, dilation={dilation} (each window spans {extent}): "
            f"the output size would be {out}. Pad the input or use a smaller kernel."
        )
    return windows


def _batched(x: Tensor, batched: bool) -> Tensor:
    return x if batched else unsqueeze(x, 0)


def _unbatched(y: Tensor, batched: bool) -> Tensor:
    return y if batched else squeeze(y, 0)


def max_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
):
    """Max pooling of (N, C, H, W) images, ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    input : Tensor
        (N, C, H, W) or unbatched (C, H, W), floating point.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (non-overlapping windows).
    padding : int or (int, int)
        -inf added on both sides (never picked); at most half the kernel size, as in PyTorch.
    dilation : int or (int, int)
        Spacing between the pixels of a window: a window spans D(K - 1) + 1 pixels.
    ceil_mode : bool
        Round the output size up: a last, partial window covers the remaining pixels, if it
        starts inside the input or its left padding (PyTorch's rule).
    return_indices : bool
        Also return, per output, the flat index h*W + w of its maximum in the (unpadded) H x W
        plane, int64; ``max_unpool2d`` takes them.

    Returns
    -------
    Tensor, or (Tensor, Tensor) with ``return_indices``
        (N, C, OH, OW), OH = (H + 2PH - DH(KH - 1) - 1) // SH + 1 (rounded up in ceil mode), OW
        likewise. The gradient goes to the first maximum of each window (row-major), as PyTorch.

    Raises
    ------
    ValueError
        For a non 3-D or 4-D input, bad kernel_size/stride/padding/dilation, padding over half
        the kernel, or an input too small for the kernel.
    TypeError
        For an integer input, or flags that are not True or False.

    Examples
    --------
    >>> import zerograd
    >>> max_pool2d(zerograd.ones(2, 3, 8, 8), 2).shape
    (2, 3, 4, 4)
    >>> max_pool2d(zerograd.ones(2, 3, 5, 5), 2, ceil_mode=True).shape
    (2, 3, 3, 3)
    >>> y, idx = max_pool2d(zerograd.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)
    >>> idx.tolist()
    [[[[5, 7], [13, 15]]]]
    >>> max_pool2d(zerograd.ones(2, 3, 4, 4), 5)
    Traceback (most recent call last):
    ...
    ValueError: max_pool2d: input of size (H, W) = (4, 4) is too small for ...
    """
    x = as_tensor(input)
    batched = _check_input("max_pool2d", x)
    windows = _windows("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    fn = MaxPool2d(windows, _flag("max_pool2d", "return_indices", return_indices))
    y = _unbatched(fn(_batched(x, batched)), batched)
    if not fn.return_indices:
        return y
    indices, fn.indices = fn.indices, None  # the node keeps no copy
    return y, Tensor(indices if batched else indices[0])


def _unpool_size(op, x, kernel, stride, padding, output_size) -> tuple:
    """(OH, OW): PyTorch's default (H - 1) S - 2P + K, or output_size checked against it."""
    default = tuple(
        (n - 1) * s - 2 * p + k for n, k, s, p in zip(x.shape[-2:], kernel, stride, padding)
    )
    if output_size is None:
        size = default
    else:
        size = tuple(output_size) if isinstance(output_size, (tuple, list)) else None
        if size is not None and len(size) == 4:
            size = size[2:]  # (N, C, OH, OW), as PyTorch takes
        if size is None or not all(isinstance(s, numbers.Integral) for s in size):
            raise TypeError(f"{op}: output_size must be a sequence of ints, got {output_size!r}.")
        if len(size) != 2:
            raise ValueError(
                f"{op}: output_size must be (OH, OW) or (N, C, OH, OW), got {output_size!r}."
            )
        size = tuple(int(s) for s in size)
        for d, (s, n, st) in enumerate(zip(size, default, stride)):
            if not n - st < s < n + st:
                raise ValueError(
                    f"{op}: output_size={size} is out of range: dim {d} must be strictly between "
                    f"{n - st} and {n + st} (the default size {n} plus or minus the stride {st})."
                )
    if min(size) < 1:
        raise ValueError(
            f"{op}: input of size (H, W) = {tuple(x.shape[-2:])} with kernel_size={kernel}, "
            f"stride={stride}, padding={padding} gives an output size of {size}; use a smaller "
            "padding."
        )
    return size


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of ``max_pool2d``, ``torch.nn.functional.max_unpool2d``.

    Each value goes to the position its index names in a zero (OH, OW) plane.

    Parameters
    ----------
    input : Tensor
        (N, C, H, W) or unbatched (C, H, W), floating point: pooled values.
    indices : Tensor or array of int
        Same shape as input: flat indices into the OH x OW plane, from
        ``max_pool2d(..., return_indices=True)``.
    kernel_size, stride, padding : int or (int, int)
        Those of the max pooling; stride defaults to kernel_size.
    output_size : (OH, OW) or (N, C, OH, OW), optional
        Defaults to ((H - 1) SH - 2 PH + KH, W likewise); give the pooled input's size when its
        pooling dropped pixels (odd sizes). Must lie within one stride of the default.

    Returns
    -------
    Tensor
        (N, C, OH, OW); the gradient flows to input only.

    Raises
    ------
    ValueError
        For bad shapes, sizes or an output_size out of range.
    TypeError
        For a non-float input or non-integer indices.
    IndexError
        For an index outside [0, OH*OW).

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[[[1.0, 2.0], [4.0, 3.0]]]])
    >>> y, idx = max_pool2d(x, 2, return_indices=True)
    >>> max_unpool2d(y, idx, 2).tolist()
    [[[[0.0, 0.0], [4.0, 0.0]]]]
    """
    op = "max_unpool2d"
    x = as_tensor(input)
    batched = _check_input(op, x)
    idx = indices.data if isinstance(indices, Tensor) else indices
    if not hasattr(idx, "dtype") or idx.dtype.kind not in "iu":
        kind = getattr(idx, "dtype", type(idx).__name__)
        raise TypeError(
            f"{op}: indices must be an integer tensor (int64, from max_pool2d(..., "
            f"return_indices=True)), got {kind}."
        )
    if tuple(idx.shape) != x.shape:
        raise ValueError(
            f"{op}: indices of shape {tuple(idx.shape)} must have the input's shape {x.shape}."
        )
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    stride = _stride(op, stride, kernel)
    pad = _pair(op, "padding", padding, 0)
    OH, OW = _unpool_size(op, x, kernel, stride, pad, output_size)
    bad = (idx < 0) | (idx >= OH * OW)
    if bad.any():
        raise IndexError(
            f"{op}: index {int(idx[bad].ravel()[0])} is out of range for an output plane of "
            f"(OH, OW) = ({OH}, {OW}), [0, {OH * OW}); pass the output_size of the pooled input."
        )
    idx = idx.astype("int64", copy=False)
    y = MaxUnpool2d(idx if batched else idx[None], (OH, OW))(_batched(x, batched))
    return _unbatched(y, batched)


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> Tensor:
    """Average pooling of (N, C, H, W) images, ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    input : Tensor
        (N, C, H, W) or unbatched (C, H, W), floating point.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int)
        Zeros added on both sides; at most half the kernel size, as in PyTorch.
    ceil_mode : bool
        Round the output size up, as ``max_pool2d``; a last window hanging past the padded
        input is clipped to it.
    count_include_pad : bool
        Divide by the window's size including padding (KH*KW unless clipped in ceil mode), or
        (False) by the number of unpadded pixels in each window.
    divisor_override : int, optional
        Divide every window's sum by this instead (not 0).

    Returns
    -------
    Tensor
        (N, C, OH, OW), OH = (H + 2 PH - KH) // SH + 1 (rounded up in ceil mode), OW likewise.

    Raises
    ------
    ValueError
        For a non 3-D or 4-D input, bad kernel_size/stride/padding, padding over half the
        kernel, an input too small for the kernel, or divisor_override=0.
    TypeError
        For an integer input, a non-int divisor_override or flags that are not True or False.

    Examples
    --------
    >>> import zerograd
    >>> avg_pool2d(zerograd.ones(1, 1, 4, 4), 2, padding=1, count_include_pad=False).tolist()
    [[[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]]
    >>> avg_pool2d(zerograd.ones(1, 1, 3, 3), 2, ceil_mode=True).tolist()  # clipped windows
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """
    op = "avg_pool2d"
    x = as_tensor(input)
    batched = _check_input(op, x)
    windows = _windows(op, x, kernel_size, stride, padding, 1, ceil_mode)
    count_include_pad = _flag(op, "count_include_pad", count_include_pad)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral):
            raise TypeError(
                f"{op}: divisor_override must be an int or None, got {divisor_override!r}."
            )
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be 0; pass None for the mean.")
        divisor_override = int(divisor_override)
    fn = AvgPool2d(windows, count_include_pad, divisor_override)
    return _unbatched(fn(_batched(x, batched)), batched)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average pooling to an (OH, OW) output, ``torch.nn.functional.adaptive_avg_pool2d``.

    Parameters
    ----------
    input : Tensor
        (N, C, H, W) or unbatched (C, H, W), floating point.
    output_size : int, or pair of int or None
        (OH, OW); None keeps that input size. 1 is global average pooling.

    Returns
    -------
    Tensor
        (N, C, OH, OW).

    Where OH divides H and OW divides W the windows are AvgPool2d's (kernel = stride = H // OH);
    otherwise they are PyTorch's uneven, possibly overlapping ones (AdaptiveAvgPool2dUneven).

    Examples
    --------
    >>> import zerograd
    >>> adaptive_avg_pool2d(zerograd.ones(2, 3, 7, 7), 1).shape
    (2, 3, 1, 1)
    >>> adaptive_avg_pool2d(zerograd.arange(5.0).reshape(1, 1, 5), (1, 3)).tolist()
    [[[0.5, 2.0, 3.5]]]
    """
    x = as_tensor(input)
    batched = _check_input("adaptive_avg_pool2d", x)
    H, W = x.shape[-2:]
    sizes = output_size
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        sizes = tuple(n if s is None else s for s, n in zip(output_size, (H, W)))  # None: keep
    out = int_pair("adaptive_avg_pool2d", "output_size", sizes, 1)
    op = AdaptiveAvgPool2dUneven(out) if H % out[0] or W % out[1] else AdaptiveAvgPool2d(out)
    return _unbatched(op(_batched(x, batched)), batched)


# --- 1-D pooling: the 2-D ops on (N, C, 1, L) -----------------------------------------------


def _single(op: str, name: str, value, minimum: int) -> int:
    """An int, or one int in a tuple (PyTorch's ``_single``), >= minimum."""
    v = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
        raise ValueError(
            f"{op}: {name} must be an int >= {minimum} (or one in a tuple), got {value!r}."
        )
    return int(v)


def _windows1d(op, x, kernel_size, stride, padding, dilation, ceil_mode) -> _Windows:
    """Validated 1-D windows over the last dim of x, as 2-D windows over (1, L)."""
    if x.ndim not in (2, 3):
        hint = " Add the channel dimension with x.unsqueeze(0)." if x.ndim == 1 else ""
        raise ValueError(
            f"{op}: input must be 3-D (N, C, L) or 2-D (C, L), got shape {x.shape}.{hint}"
        )
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}: input must be floating point, got {x.dtype}; convert it first, e.g. x.float()."
        )
    k = _single(op, "kernel_size", kernel_size, 1)
    empty = isinstance(stride, (tuple, list)) and len(stride) == 0
    s = k if stride is None or empty else _single(op, "stride", stride, 1)
    p = _single(op, "padding", padding, 0)
    d = _single(op, "dilation", dilation, 1)
    if 2 * p > k:
        raise ValueError(
            f"{op}: padding={p} must be at most half of kernel_size={k} (PyTorch's rule, so "
            "every window holds a real value); use a smaller padding."
        )
    windows = _Windows((1, k), (1, s), (0, p), (1, d), _flag(op, "ceil_mode", ceil_mode))
    L = x.shape[-1]
    out = windows.out_size(1, L)[1]
    if out < 1:
        raise ValueError(
            f"{op}: input of length L = {L} is too small for kernel_size={k}, stride={s}, "
            f"padding={p}, dilation={d} (each window spans {d * (k - 1) + 1}): the output length "
            f"would be {out}. Pad the input or use a smaller kernel."
        )
    return windows


def _as_planes(x: Tensor) -> Tensor:
    """(N, C, L) or (C, L) -> (N, C, 1, L), N = 1 for an unbatched input."""
    return reshape(x, (1,) * (3 - x.ndim) + x.shape[:-1] + (1, x.shape[-1]))


def max_pool1d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
):
    """Max pooling of (N, C, L) sequences, ``torch.nn.functional.max_pool1d``.

    ``max_pool2d`` over (N, C, 1, L): the same options, rules and gradient, with ints (or
    1-tuples) for sizes. Input (N, C, L) or (C, L); output (N, C, OL) (or (C, OL)),
    OL = (L + 2P - D(K - 1) - 1) // S + 1, rounded up in ceil mode. With ``return_indices``,
    also the int64 position l of each maximum.

    Examples
    --------
    >>> import zerograd
    >>> y, idx = max_pool1d(zerograd.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2, ceil_mode=True,
    ...                     return_indices=True)
    >>> y.tolist(), idx.tolist()
    ([[[3.0, 5.0, 4.0]]], [[[1, 3, 4]]])
    """
    op = "max_pool1d"
    x = as_tensor(input)
    windows = _windows1d(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    fn = MaxPool2d(windows, _flag(op, "return_indices", return_indices))
    y = fn(_as_planes(x))
    out_shape = x.shape[:-1] + y.shape[-1:]
    y = reshape(y, out_shape)
    if not fn.return_indices:
        return y
    indices, fn.indices = fn.indices, None  # in a 1 x L plane, h*L + l is l
    return y, Tensor(indices.reshape(out_shape))


def avg_pool1d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """Average pooling of (N, C, L) sequences, ``torch.nn.functional.avg_pool1d``.

    ``avg_pool2d`` over (N, C, 1, L): the same options and divisors (PyTorch's avg_pool1d has
    no ``divisor_override``). Input (N, C, L) or (C, L); output (N, C, OL) (or (C, OL)),
    OL = (L + 2P - K) // S + 1, rounded up in ceil mode.

    Examples
    --------
    >>> import zerograd
    >>> avg_pool1d(zerograd.tensor([[[1.0, 3.0, 2.0, 6.0, 4.0]]]), 2, ceil_mode=True).tolist()
    [[[2.0, 4.0, 4.0]]]
    """
    op = "avg_pool1d"
    x = as_tensor(input)
    windows = _windows1d(op, x, kernel_size, stride, padding, 1, ceil_mode)
    fn = AvgPool2d(windows, _flag(op, "count_include_pad", count_include_pad))
    y = fn(_as_planes(x))
    return reshape(y, x.shape[:-1] + y.shape[-1:])
