"""2-D convolution (``conv2d``) by im2col: a window view of the padded input, then one GEMM.

The window view comes from ``sliding_window_view`` in the array module's ``lib.stride_tricks``
(``numpy.lib.stride_tricks`` now; CuPy has the same function under the same name).
"""

from __future__ import annotations

import numbers

from ..autograd import Function, Tensor, is_grad_enabled
from ..backend import array_module
from .args import as_tensor, int_pair

__all__ = ["conv2d"]


def _im2col(x, KH, KW, stride, padding, dilation, groups):
    """im2col: (N, C, H, W) -> cols (N, G, Cg*KH*KW, OH*OW), plus (OH, OW).

    The window view is free; the one copy is the reshape, which reads whole rows of the image
    (OW is innermost on both sides), the fast order for a strided copy.
    """
    xp = array_module(x)
    (SH, SW), (DH, DW) = stride, dilation
    PT, PB, PL, PR = padding
    N, C, H, W = x.shape
    if PT or PB or PL or PR:
        xpad = xp.zeros((N, C, H + PT + PB, W + PL + PR), dtype=x.dtype)
        xpad[:, :, PT : PT + H, PL : PL + W] = x
    else:
        xpad = x
    # a window spans DH*(KH-1)+1 rows; stepping by DH inside it picks the dilated taps
    span = (DH * (KH - 1) + 1, DW * (KW - 1) + 1)
    win = xp.lib.stride_tricks.sliding_window_view(xpad, span, axis=(2, 3))
    win = win[:, :, ::SH, ::SW, ::DH, ::DW]  # (N, C, OH, OW, KH, KW), a view
    OH, OW = win.shape[2:4]
    # (N, C, OH, OW, KH, KW) -> (N, C, KH, KW, OH, OW) -> (N, G, Cg*KH*KW, OH*OW)
    cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(N, groups, C // groups * KH * KW, OH * OW)
    return cols, OH, OW


def _correlate(x, W, stride, padding, dilation, groups):
    """y = the cross-correlation of x with W, no bias, by im2col and a batched matmul; and cols."""
    N, CO, G = x.shape[0], W.shape[0], groups
    cols, OH, OW = _im2col(x, W.shape[2], W.shape[3], stride, padding, dilation, G)
    Wg = W.reshape(G, CO // G, -1)  # (CO, Cg, KH, KW) -> (G, COg, Cg*KH*KW)
    return (Wg @ cols).reshape(N, CO, OH, OW), cols  # (N, G, COg, L): y's memory order


class Conv2d(Function):
    """Cross-correlation of a batch of images with a bank of filters (PyTorch's ``conv2d``).

    With G groups, C = G * Cg input channels and CO = G * COg output channels, output channel o in
    group g = o // COg sees only the input channels of group g::

        y[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q]
                               * xpad[n, g * Cg + c, i * SH + p * DH, j * SW + q * DW]

    im2col writes this as one matrix product per image and group, with L = OH * OW output pixels
    (a batched matmul; the product comes out in (N, CO, OH, OW) order, so y needs no transpose)::

        cols: (N, G, Cg*KH*KW, L),   Wg: (G, COg, Cg*KH*KW),   y[n, g] = Wg[g] @ cols[n, g]

    Gradients, with gy laid out like y as (N, G, COg, L)::

        gb = sum of gy over (N, OH, OW)
        gW[g] = sum_n gy[n, g] @ cols[n, g]^T   (computed as its transpose, cols @ gy^T)
        gx: with stride 1, gx is itself a convolution: gy, padded by D(K-1) - P on each side,
            cross-correlated with the flipped kernel, in and out channels swapped,
            Wf[c, o, p, q] = W[o, c, KH-1-p, KW-1-q]   (per group)
            otherwise col2im: gcols[n, g] = Wg[g]^T @ gy[n, g], then one strided slice per
            kernel offset (p, q):  gxpad[:, :, p*DH + SH*i, q*DW + SW*j] += gcols[:, :, p, q, i, j]

    x: (N, C, H, W), W: (CO, Cg, KH, KW), b: (CO,) or None -> y: (N, CO, OH, OW) with
    OH = (H + PT + PB - DH*(KH - 1) - 1) // SH + 1 (and OW the same way along the width).
    ``padding`` is (top, bottom, left, right): 'same' pads asymmetrically when DH*(KH-1) is odd,
    one more row at the bottom, as PyTorch does. With ``keep_cols`` (the weight needs a gradient)
    forward keeps cols for gW, KH*KW times the input's memory, rather than rebuilding them.
    """

    def __init__(self, stride, padding, dilation, groups, keep_cols=False):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.keep_cols = keep_cols

    def forward(self, x, W, b):
        y, cols = _correlate(x, W, self.stride, self.padding, self.dilation, self.groups)
        self.save_for_backward(x, W, cols if self.keep_cols else None)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)  # y is fresh (from the matmul): add the bias in place
        return y

    def backward(self, gy):
        x, W, cols = self.saved
        need_x, need_W, need_b = self.needs_input_grad
        N, C, H, Wd = x.shape
        CO, Cg, KH, KW = W.shape
        G, (DH, DW) = self.groups, self.dilation
        OH, OW = gy.shape[2:]
        gyg = gy.reshape(N, G, CO // G, OH * OW)  # a view: gy is (N, CO, OH, OW)
        gb = gy.sum(axis=(0, 2, 3)) if need_b else None
        gW = None
        if need_W:
            if cols is None:
                cols, _, _ = _im2col(x, KH, KW, self.stride, self.padding, self.dilation, G)
            # per image and group gW^T = cols (Cg*KH*KW, L) @ gy^T (L, COg), summed over the
            # batch: this way round the GEMM is ~20% faster than gy @ cols^T (measured)
            gWT = (cols @ gyg.transpose(0, 1, 3, 2)).sum(axis=0)  # (G, Cg*KH*KW, COg)
            gW = gWT.transpose(0, 2, 1).reshape(W.shape)
        gx = None
        if need_x:
            # the padding that turns gy back into x's size under the flipped kernel
            spans = (DH * (KH - 1),) * 2 + (DW * (KW - 1),) * 2
            back = tuple(s - p for s, p in zip(spans, self.padding))
            if self.stride == (1, 1) and min(back) >= 0:
                Wf = W.reshape(G, CO // G, Cg, KH, KW)[:, :, :, ::-1, ::-1]
                Wf = Wf.transpose(0, 2, 1, 3, 4).reshape(C, CO // G, KH, KW)
                gx, _ = _correlate(gy, Wf, (1, 1), back, self.dilation, G)
            else:
                gx = self._col2im(gy, W, x.shape)
        return gx, gW, gb

    def _col2im(self, gy, W, x_shape):
        """gx for any stride: gcols = Wg^T @ gy, then each kernel tap added back where it came."""
        xp = array_module(gy)
        N, C, H, Wd = x_shape
        CO, Cg, KH, KW = W.shape
        G, (SH, SW), (DH, DW) = self.groups, self.stride, self.dilation
        PT, PB, PL, PR = self.padding
        OH, OW = gy.shape[2:]
        Wg = W.reshape(G, CO // G, -1)
        gcols = Wg.transpose(0, 2, 1) @ gy.reshape(N, G, CO // G, OH * OW)  # (N, G, CgKK, L)
        gcols = gcols.reshape(N, C, KH, KW, OH, OW)  # a view: groups are channel blocks
        gx = xp.zeros((N, C, H + PT + PB, Wd + PL + PR), dtype=gy.dtype)
        # col2im: tap (p, q) of every window lands on a strided grid of the padded input
        for p in range(KH):
            for q in range(KW):
                rows = slice(p * DH, p * DH + SH * (OH - 1) + 1, SH)
                cols = slice(q * DW, q * DW + SW * (OW - 1) + 1, SW)
                gx[:, :, rows, cols] += gcols[:, :, p, q]
        return gx[:, :, PT : PT + H, PL : PL + Wd]


def resolve_padding(op: str, padding, stride, dilation, kernel_size) -> tuple:
    """PyTorch's padding (int, pair, 'valid' or 'same') as (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(
                f"{op}: padding must be an int, a pair of ints, 'valid' or 'same', got {padding!r}."
            )
        if stride != (1, 1):
            raise ValueError(
                f"{op}: padding='same' is not supported for strided convolutions "
                f"(stride={stride}); use stride=1 or give the padding as numbers."
            )
        out = []
        for d, k in zip(dilation, kernel_size):
            total = d * (k - 1)
            out += [total // 2, total - total // 2]  # the odd extra row/column goes last
        return tuple(out)
    ph, pw = int_pair(op, "padding", padding, 0)
    return (ph, ph, pw, pw)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) of (N, C, H, W) images, ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    input : Tensor
        (N, C, H, W), or one unbatched image (C, H, W) as in PyTorch.
    weight : Tensor
        (CO, C / groups, KH, KW).
    bias : Tensor or None
        (CO,).
    stride, dilation : int or (int, int)
    padding : int, (int, int), 'valid' or 'same'
        Zeros added on both sides; 'same' (stride 1 only) keeps H and W.
    groups : int
        Split channels into ``groups`` independent convolutions; divides C and CO.

    Returns
    -------
    Tensor
        (N, CO, OH, OW), OH = (H + 2 PH - DH (KH - 1) - 1) // SH + 1, OW likewise; (CO, OH, OW)
        for an unbatched input.

    Raises
    ------
    ValueError
        For a non 4-D input, a weight that does not fit the channels and groups, bad
        stride/padding/dilation/groups, or an input too small for the kernel.

    Examples
    --------
    >>> import zerograd
    >>> conv2d(zerograd.ones(2, 3, 8, 8), zerograd.ones(4, 3, 3, 3), padding=1).shape
    (2, 4, 8, 8)
    >>> conv2d(zerograd.ones(2, 3, 4, 4), zerograd.ones(4, 3, 5, 5))
    Traceback (most recent call last):
    ...
    ValueError: conv2d: input of size (H, W) = (4, 4) is too small for ...
    """
    x, W = as_tensor(input), as_tensor(weight)
    if x.ndim == 3:  # one image: a batch of one, and the batch dimension taken off again
        y = conv2d(x.reshape((1,) + x.shape), W, bias, stride, padding, dilation, groups)
        return y.reshape(y.shape[1:])
    if x.ndim != 4:
        raise ValueError(
            f"conv2d: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {x.shape}."
        )
    if W.ndim != 4:
        raise ValueError(
            f"conv2d: weight must be 4-D (out_channels, in_channels/groups, KH, KW), "
            f"got shape {W.shape}."
        )
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}.")
    N, C, H, Wd = x.shape
    CO, Cg, KH, KW = W.shape
    if Cg * groups != C:
        raise ValueError(
            f"conv2d: input has shape {x.shape} ({C} channels) but weight has shape {W.shape} "
            f"with groups={groups}: weight.shape[1] * groups must equal the input channels "
            f"({Cg} * {groups} != {C}). Check in_channels and groups."
        )
    if CO % groups:
        raise ValueError(
            f"conv2d: weight has shape {W.shape}: out_channels {CO} must be divisible by "
            f"groups={groups}."
        )
    if bias is not None and tuple(bias.shape) != (CO,):
        raise ValueError(
            f"conv2d: bias has shape {tuple(bias.shape)} but weight {W.shape} needs ({CO},)."
        )
    if x.dtype != W.dtype or (bias is not None and as_tensor(bias).dtype != x.dtype):
        raise TypeError(
            f"conv2d: input ({x.dtype}), weight ({W.dtype}) and bias must share one dtype."
        )
    stride = int_pair("conv2d", "stride", stride, 1)
    dilation = int_pair("conv2d", "dilation", dilation, 1)
    pads = resolve_padding("conv2d", padding, stride, dilation, (KH, KW))
    sizes = ((H, pads[0] + pads[1], KH), (Wd, pads[2] + pads[3], KW))
    out = [(n + p - d * (k - 1) - 1) // s + 1 for (n, p, k), s, d in zip(sizes, stride, dilation)]
    if min(out) < 1:
        raise ValueError(
            f"conv2d: input of size (H, W) = ({H}, {Wd}) is too small for kernel_size=({KH}, {KW}),"
            f" stride={stride}, padding={padding!r}, dilation={dilation}: the output size "
            f"(H + 2P - D(K-1) - 1) // S + 1 is {tuple(out)}. Pad the input or use a smaller "
            "kernel, stride or dilation."
        )
    keep_cols = is_grad_enabled() and W.requires_grad
    return Conv2d(stride, pads, dilation, int(groups), keep_cols)(x, W, bias)
