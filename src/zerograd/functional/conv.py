"""2-D convolution (``conv2d``) by im2col: a window view of the padded input, then one GEMM.

The window view comes from ``sliding_window_view`` in the array module's ``lib.stride_tricks``
(``numpy.lib.stride_tricks`` now; CuPy has the same function under the same name).
"""

from __future__ import annotations

import numbers

from ..autograd import Function, Tensor
from ..backend import array_module
from ._args import as_tensor

__all__ = ["conv2d"]


class Conv2d(Function):
    """Cross-correlation of a batch of images with a bank of filters (PyTorch's ``conv2d``).

    With G groups, C = G * Cg input channels and CO = G * COg output channels, output channel o in
    group g = o // COg sees only the input channels of group g::

        y[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q]
                               * xpad[n, g * Cg + c, i * SH + p * DH, j * SW + q * DW]

    im2col writes this as one matrix product per group (a batched matmul over the G groups)::

        cols: (G, N*OH*OW, Cg*KH*KW),   Wg: (G, COg, Cg*KH*KW),   y_g = cols @ Wg^T

    Gradients, with gy_g the upstream gradient laid out like y_g, (G, N*OH*OW, COg)::

        gb = sum of gy over (N, OH, OW)
        gW_g = gy_g^T @ cols
        gcols = gy_g @ Wg,  then col2im: gxpad[:, :, p*DH + SH*i, q*DW + SW*j] += gcols[..., p, q]
                            for each kernel offset (p, q), and gx is gxpad without the padding

    x: (N, C, H, W), W: (CO, Cg, KH, KW), b: (CO,) or None -> y: (N, CO, OH, OW) with
    OH = (H + PT + PB - DH*(KH - 1) - 1) // SH + 1 (and OW the same way along the width).
    ``padding`` is (top, bottom, left, right): 'same' pads asymmetrically when DH*(KH-1) is odd,
    one more row at the bottom, as PyTorch does.
    """

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def _cols(self, x, KH, KW):
        """im2col: (N, C, H, W) -> (G, N*OH*OW, Cg*KH*KW), plus (OH, OW)."""
        xp = array_module(x)
        (SH, SW), (DH, DW), G = self.stride, self.dilation, self.groups
        PT, PB, PL, PR = self.padding
        N, C = x.shape[:2]
        xpad = xp.pad(x, ((0, 0), (0, 0), (PT, PB), (PL, PR)))
        # a window spans DH*(KH-1)+1 rows; stepping by DH inside it picks the dilated taps
        span = (DH * (KH - 1) + 1, DW * (KW - 1) + 1)
        win = xp.lib.stride_tricks.sliding_window_view(xpad, span, axis=(2, 3))
        win = win[:, :, ::SH, ::SW, ::DH, ::DW]  # (N, C, OH, OW, KH, KW), a view
        OH, OW = win.shape[2:4]
        win = win.reshape(N, G, C // G, OH, OW, KH, KW)  # still a view: C splits evenly
        # (N, G, Cg, OH, OW, KH, KW) -> (G, N*OH*OW, Cg*KH*KW): the one copy of im2col
        cols = win.transpose(1, 0, 3, 4, 2, 5, 6).reshape(G, N * OH * OW, C // G * KH * KW)
        return cols, OH, OW

    def forward(self, x, W, b):
        self.save_for_backward(x, W)
        N, G = x.shape[0], self.groups
        CO, _, KH, KW = W.shape
        cols, OH, OW = self._cols(x, KH, KW)
        Wg = W.reshape(G, CO // G, -1)  # (CO, Cg, KH, KW) -> (G, COg, Cg*KH*KW)
        yg = cols @ Wg.transpose(0, 2, 1)  # (G, N*OH*OW, COg)
        # (G, N*OH*OW, COg) -> (N, G, COg, OH, OW) -> (N, CO, OH, OW)
        y = yg.reshape(G, N, OH, OW, CO // G).transpose(1, 0, 4, 2, 3).reshape(N, CO, OH, OW)
        if b is not None:
            y += b.reshape(1, CO, 1, 1)  # y is fresh (from the matmul): add the bias in place
        return y

    def backward(self, gy):
        x, W = self.saved
        need_x, need_W, need_b = self.needs_input_grad
        xp = array_module(gy)
        N, C, H, Wd = x.shape
        CO, Cg, KH, KW = W.shape
        G, (SH, SW), (DH, DW) = self.groups, self.stride, self.dilation
        PT, PB, PL, PR = self.padding
        OH, OW = gy.shape[2:]
        # (N, CO, OH, OW) -> (N, G, COg, OH, OW) -> (G, N*OH*OW, COg)
        gyg = gy.reshape(N, G, CO // G, OH, OW).transpose(1, 0, 3, 4, 2).reshape(G, -1, CO // G)
        gb = gy.sum(axis=(0, 2, 3)) if need_b else None
        gW = None
        if need_W:
            cols, _, _ = self._cols(x, KH, KW)  # recomputed: cheaper to keep x than KH*KW copies
            gW = (gyg.transpose(0, 2, 1) @ cols).reshape(W.shape)  # (G, COg, Cg*KH*KW)
        gx = None
        if need_x:
            gcols = gyg @ W.reshape(G, CO // G, -1)  # (G, N*OH*OW, Cg*KH*KW)
            # (G, N, OH, OW, Cg, KH, KW) -> (N, G, Cg, KH, KW, OH, OW) -> (N, C, KH, KW, OH, OW)
            gcols = gcols.reshape(G, N, OH, OW, Cg, KH, KW).transpose(1, 0, 4, 5, 6, 2, 3)
            gcols = gcols.reshape(N, C, KH, KW, OH, OW)
            gxpad = xp.zeros((N, C, H + PT + PB, Wd + PL + PR), dtype=gy.dtype)
            # col2im: tap (p, q) of every window lands on a strided grid of the padded input
            for p in range(KH):
                for q in range(KW):
                    rows = slice(p * DH, p * DH + SH * (OH - 1) + 1, SH)
                    cols_ = slice(q * DW, q * DW + SW * (OW - 1) + 1, SW)
                    gxpad[:, :, rows, cols_] += gcols[:, :, p, q]
            gx = gxpad[:, :, PT : PT + H, PL : PL + Wd]
        return gx, gW, gb


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


def _padding(op: str, padding, stride, dilation, kernel_size) -> tuple:
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
    ph, pw = _pair(op, "padding", padding, 0)
    return (ph, ph, pw, pw)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) of (N, C, H, W) images, ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    input : Tensor
        (N, C, H, W). Unlike PyTorch, an unbatched (C, H, W) input is not accepted: add the batch
        dimension with ``x.unsqueeze(0)``.
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
        (N, CO, OH, OW), OH = (H + 2 PH - DH (KH - 1) - 1) // SH + 1, OW likewise.

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
    if x.ndim != 4:
        hint = " Add the batch dimension with x.unsqueeze(0)." if x.ndim == 3 else ""
        raise ValueError(f"conv2d: input must be 4-D (N, C, H, W), got shape {x.shape}.{hint}")
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
    stride = _pair("conv2d", "stride", stride, 1)
    dilation = _pair("conv2d", "dilation", dilation, 1)
    pads = _padding("conv2d", padding, stride, dilation, (KH, KW))
    sizes = ((H, pads[0] + pads[1], KH), (Wd, pads[2] + pads[3], KW))
    out = [(n + p - d * (k - 1) - 1) // s + 1 for (n, p, k), s, d in zip(sizes, stride, dilation)]
    if min(out) < 1:
        raise ValueError(
            f"conv2d: input of size (H, W) = ({H}, {Wd}) is too small for kernel_size=({KH}, {KW}),"
            f" stride={stride}, padding={padding!r}, dilation={dilation}: the output size "
            f"(H + 2P - D(K-1) - 1) // S + 1 is {tuple(out)}. Pad the input or use a smaller "
            "kernel, stride or dilation."
        )
    return Conv2d(stride, pads, dilation, int(groups))(x, W, bias)
