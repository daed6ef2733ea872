"""Losses: MSE, cross-entropy (fused with log-softmax), NLL, binary cross-entropy (on
probabilities and, stably, on logits). ``reduction`` is 'mean' (default), 'sum' or 'none'.

Cross-entropy takes logits of shape (N, C) or (N, C, d1, ...) and either class indices (N, ...)
or class probabilities of the logits' shape, like ``torch.nn.functional.cross_entropy``.
"""

from __future__ import annotations

import numbers

from ..autograd import Function, Tensor
from ..backend import array_module, errstate
from .args import as_tensor, check_reduction, label_smoothing_arg, shape_of
from .arithmetic import cast
from .shape import permute, reshape

__all__ = [
    "mse_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]


def _reduce(loss, reduction, denom=None):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    denom = loss.size if denom is None else denom
    if not denom:  # an empty batch (or every target ignored): the mean is NaN, as in PyTorch
        return array_module(loss).asarray(float("nan"), dtype=total.dtype)
    return total / denom


def _upstream(gy, reduction, n):
    """d(reduced loss)/d(per-element loss): gy / n for 'mean', else gy itself."""
    if reduction != "mean":
        return gy
    if not n:  # nothing was averaged (an empty batch, every target ignored): zero, as in PyTorch
        return gy * 0
    return gy / n


class MSELoss(Function):
    """loss = reduce((x - t)^2),   gx = 2 (x - t) * g,   gt = -gx   (g: 1/n for 'mean')"""

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, x, t):
        d = x - t
        self.save_for_backward(d)
        with errstate(over="ignore"):  # |d| > 1.8e19 in float32: the loss is inf, as in PyTorch
            return _reduce(d * d, self.reduction)

    def error_message(self, arrays, exc):
        return (
            f"mse_loss: input of shape {shape_of(arrays[0])} and target of shape "
            f"{shape_of(arrays[1])} must have the same shape."
        )

    def backward(self, gy):
        (d,) = self.saved
        gx = (2 * d) * _upstream(gy, self.reduction, d.size)
        return gx, (-gx if self.needs_input_grad[1] else None)


class CrossEntropy(Function):
    """Softmax cross-entropy on logits (M, C) and class indices t (M,), in one pass.

    logp = log_softmax(x),
    loss_i = (1 - eps) w_i (-logp[i, t_i]) + eps/C [t_i kept] sum_c w_c (-logp[i, c])
    with w_i = weight[t_i] (0 where t_i == ignore_index), 'mean' dividing by sum_i w_i.
    gx_i = s_i [(1 - eps) w_i (p_i - onehot(t_i)) + eps/C (p_i sum_c w_c - w)],   p = softmax(x)
    Without weights or smoothing this is the familiar gx = (p - onehot(t)) / M.
    """

    def __init__(self, weight, ignore_index, reduction, label_smoothing):
        self.weight, self.ignore_index = weight, ignore_index
        self.reduction, self.eps = reduction, label_smoothing

    def forward(self, x, t):
        xp = array_module(x)
        M, C = x.shape
        z = x - x.max(axis=1, keepdims=True)  # shift by the max: exp never overflows
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        logp = z - xp.log(s)
        p = e / s
        valid = t != self.ignore_index
        t = xp.where(valid, t, 0)  # the wrapper checked every kept target is in [0, C)
        rows = xp.arange(M)
        w = valid.astype(x.dtype) if self.weight is None else self.weight[t] * valid
        loss = -logp[rows, t] * w
        if self.eps:
            smooth = -(logp.sum(axis=1) if self.weight is None else logp @ self.weight)
            loss = (1 - self.eps) * loss + (self.eps / C) * smooth * valid
        denom = w.sum()
        self.save_for_backward(p, t, w, valid, rows, denom)
        return _reduce(loss, self.reduction, denom)

    def backward(self, gy):
        p, t, w, valid, rows, denom = self.saved
        M, C = p.shape
        scale = _upstream(gy, self.reduction, denom)
        scale = scale[:, None] if self.reduction == "none" else scale
        gx = p * w[:, None]
        gx[rows, t] -= w
        if self.eps:
            wsum = C if self.weight is None else self.weight.sum()
            wc = 1 if self.weight is None else self.weight
            smooth = (p * wsum - wc) * valid[:, None]
            gx = (1 - self.eps) * gx + (self.eps / C) * smooth
        gx *= scale
        return gx, None


class SoftCrossEntropy(Function):
    """Cross-entropy with probability targets T (M, C), optionally smoothed and class-weighted.

    T' = (1 - eps) T + eps / C,   loss_i = -sum_c w_c T'_ic logp_ic   ('mean' divides by M)
    gx_i = s (p_i sum_c w_c T'_ic - w T'_i),   gT_i = -s (1 - eps) w logp_i
    """

    def __init__(self, weight, reduction, label_smoothing):
        self.weight, self.reduction, self.eps = weight, reduction, label_smoothing

    def forward(self, x, T):
        xp = array_module(x)
        M, C = x.shape
        z = x - x.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        logp = z - xp.log(s)
        Ts = (1 - self.eps) * T + self.eps / C if self.eps else T
        wT = Ts if self.weight is None else Ts * self.weight
        p = e / s
        self.save_for_backward(p, logp, wT)
        return _reduce(-(wT * logp).sum(axis=1), self.reduction, M)

    def error_message(self, arrays, exc):
        return (
            f"cross_entropy: probability targets of shape {shape_of(arrays[1])} must have the "
            f"logits' shape {shape_of(arrays[0])}."
        )

    def backward(self, gy):
        p, logp, wT = self.saved
        M = p.shape[0]
        scale = _upstream(gy, self.reduction, M)
        scale = scale[:, None] if self.reduction == "none" else scale
        gx = (p * wT.sum(axis=1, keepdims=True) - wT) * scale
        gT = None
        if self.needs_input_grad[1]:
            w = 1 if self.weight is None else self.weight
            gT = -(1 - self.eps) * w * logp * scale
        return gx, gT


class NLLLoss(Function):
    """loss_i = -w_i logp[i, t_i] (w_i = weight[t_i], 0 if ignored); 'mean' divides by sum w_i.

    gx = zeros with -w_i * s put at [i, t_i]
    """

    def __init__(self, weight, ignore_index, reduction):
        self.weight, self.ignore_index, self.reduction = weight, ignore_index, reduction

    def forward(self, logp, t):
        xp = array_module(logp)
        M, C = logp.shape
        valid = t != self.ignore_index
        t = xp.where(valid, t, 0)  # the wrapper checked every kept target is in [0, C)
        rows = xp.arange(M)
        w = valid.astype(logp.dtype) if self.weight is None else self.weight[t] * valid
        self.shape, self.dtype = logp.shape, logp.dtype
        denom = w.sum()
        self.save_for_backward(t, w, rows, denom)
        return _reduce(-logp[rows, t] * w, self.reduction, denom)

    def backward(self, gy):
        t, w, rows, denom = self.saved
        xp = array_module(gy)
        gx = xp.zeros(self.shape, self.dtype)
        gx[rows, t] = -w * _upstream(gy, self.reduction, denom)
        return gx, None


_LOG_MIN = -100.0  # PyTorch clamps log(p) at -100 so p = 0 or 1 gives a finite loss


class BinaryCrossEntropy(Function):
    """loss = -w [t log p + (1 - t) log(1 - p)] (logs clamped at -100, as in PyTorch)

    gp = w (p - t) / max(p (1 - p), 1e-12) * s,   gt = -w logit(p) * s = -w (log p - log(1 - p)) s
    The target's gradient is PyTorch's: the logs unclamped, so it is -inf or inf where p is 1 or 0.
    """

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, p, t, w):
        xp = array_module(p)
        with errstate(divide="ignore"):  # log(0) = -inf, clamped next
            logp = xp.maximum(xp.log(p), _LOG_MIN)
            log1mp = xp.maximum(xp.log1p(-p), _LOG_MIN)
        loss = -(t * logp + (1 - t) * log1mp)
        if w is not None:
            loss = loss * w
        self.save_for_backward(p, t, w)
        return _reduce(loss, self.reduction)

    def backward(self, gy):
        p, t, w = self.saved
        xp = array_module(p)
        s = _upstream(gy, self.reduction, p.size)
        w = 1 if w is None else w
        gp = w * (p - t) / xp.maximum(p * (1 - p), 1e-12) * s
        gt = None
        if self.needs_input_grad[1]:
            # log(0) = -inf: an infinite gradient, and NaN where it meets a zero weight or gy
            with errstate(divide="ignore", invalid="ignore"):
                gt = -w * (xp.log(p) - xp.log1p(-p)) * s
        return gp, gt, None


class BCEWithLogits(Function):
    """Binary cross-entropy on logits x, stable for any |x|:

    loss = (1 - t) x + (1 + (pw - 1) t) softplus(-x),   softplus(-x) = log1p(exp(-|x|)) + max(-x, 0)
    gx = [(1 - t) - (1 + (pw - 1) t) sigmoid(-x)] w s,   gt = [-x + (pw - 1) softplus(-x)] w s
    """

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, x, t, w, pw):
        xp = array_module(x)
        sp = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)  # softplus(-x) without overflow
        c = 1 if pw is None else 1 + (pw - 1) * t
        loss = (1 - t) * x + c * sp
        if w is not None:
            loss = loss * w
        self.save_for_backward(x, t, w, pw, sp, c)
        return _reduce(loss, self.reduction)

    def backward(self, gy):
        x, t, w, pw, sp, c = self.saved
        s = _upstream(gy, self.reduction, x.size)
        ws = s if w is None else w * s
        e = array_module(x).exp(-sp)  # exp(-softplus(-x)) = sigmoid(x), stably
        gx = ((1 - t) - c * (1 - e)) * ws
        gt = None
        if self.needs_input_grad[1]:
            gt = (-x if pw is None else -x + (pw - 1) * sp) * ws
        return gx, gt, None, None


# ---------------------------------------------------------------------------------------------
# wrappers


def _same_shape(op, x, t):
    if x.shape != t.shape:
        raise ValueError(
            f"{op}: input has shape {x.shape} but target has shape {t.shape}; they must match "
            "(e.g. reshape the target, or use one_hot for class indices)."
        )


def _const(x, like):
    """A weight-like constant as an array of ``like``'s dtype (or None)."""
    if x is None:
        return None
    data = x.data if isinstance(x, Tensor) else x
    return array_module(like.data).asarray(data, dtype=like.dtype)


def _tracked(given, a):
    """The caller's Tensor ``given`` when ``a`` is its very array (``_const`` converted nothing),
    else ``a``: an op saves a Tensor input under the version check, so an in-place edit of the
    weight before backward is caught."""
    return given if isinstance(given, Tensor) and given.data is a else a


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (``torch.nn.functional.mse_loss``)."""
    check_reduction("mse_loss", reduction)
    x, t = as_tensor(input), as_tensor(target)
    _check_floating("mse_loss", x)
    _same_shape("mse_loss", x, t)
    return MSELoss(reduction)(x, cast(t, x.dtype))  # int or float64 targets must not upcast


def _classes_last(x, op):
    """(N, C, d1, ...) logits -> (N*d1*..., C), the class axis last; (C,) -> (1, C)."""
    if x.ndim == 1:
        return reshape(x, 1, -1)
    if x.ndim == 2:
        return x
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor.")
    dims = (0,) + tuple(range(2, x.ndim)) + (1,)
    return reshape(permute(x, dims), -1, x.shape[1])


def _class_targets(op, x, t):
    """Check class-index targets against logits (N, C, d...) and flatten them to (M,)."""
    expect = (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()
    if t.shape != expect:
        raise ValueError(
            f"{op}: input of shape {x.shape} needs class-index targets of shape {expect}, got "
            f"{t.shape}. Pass integer class labels (not one-hot), or probabilities of shape "
            f"{x.shape}."
        )
    return t.data.reshape(-1)


def _check_ignore_index(op, ignore_index):
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(
            f"{op}: ignore_index must be an int (a class index to skip, -100 by default), got "
            f"{ignore_index!r}."
        )


def _check_class_range(op, tt, C, ignore_index):
    """Every class-index target (other than ignore_index) in [0, C), before any work."""
    kept = tt[tt != ignore_index]
    if kept.size and (kept.min() < 0 or kept.max() >= C):
        bad = int(kept[(kept < 0) | (kept >= C)][0])
        raise IndexError(
            f"{op}: target {bad} is out of range for {C} classes; class indices must be in "
            f"[0, {C - 1}] (or equal ignore_index={ignore_index}). Check the number of "
            "classes of the last layer, and that labels start at 0."
        )


def _check_floating(op, x):
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}: input must be floating point, got {x.dtype}; convert it first, e.g. x.float()."
        )


def _check_weight(op, name, w, shape):
    """A per-element weight must broadcast to the input's shape."""
    if w is None:
        return
    xp = array_module(w)
    try:
        out = xp.broadcast_shapes(w.shape, shape)
    except ValueError:
        out = None
    if out != tuple(shape):
        raise ValueError(
            f"{op}: {name} of shape {w.shape} does not broadcast to the input's shape {shape}; "
            "give one value per element, or per class along the last dimension."
        )


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits and targets, fused with log-softmax for stability and speed.

    Parameters
    ----------
    input : Tensor
        Logits (N, C), (C,) or (N, C, d1, ...): raw scores, not probabilities.
    target : Tensor or array
        Class indices (N,) / (N, d1, ...) of an integer dtype, or class probabilities of the
        input's shape (a floating dtype).
    weight : Tensor, optional
        A weight per class (C,).
    ignore_index : int
        Targets equal to it add nothing (class-index targets only).
    reduction : {'mean', 'sum', 'none'}
    label_smoothing : float in [0, 1]
        Mix the target with the uniform distribution: (1 - eps) t + eps / C.

    Raises
    ------
    TypeError
        If ``label_smoothing`` is not a number (a string such as ``"0.1"``, a bool), or the input
        or target has the wrong dtype.
    ValueError
        If ``label_smoothing`` is NaN or outside [0, 1] (PyTorch takes NaN and returns NaN), or
        shapes, classes or ``reduction`` are wrong.

    Examples
    --------
    >>> import zerograd
    >>> logits = zerograd.tensor([[2.0, 0.5, -1.0]], requires_grad=True)
    >>> loss = cross_entropy(logits, zerograd.tensor([0]))
    >>> round(loss.item(), 4)
    0.2413
    """
    check_reduction("cross_entropy", reduction)
    label_smoothing = label_smoothing_arg("cross_entropy", label_smoothing)
    _check_ignore_index("cross_entropy", ignore_index)
    x, t = as_tensor(input), as_tensor(target)
    if x.dtype.kind != "f":
        raise TypeError(
            f"cross_entropy: input must hold floating logits, got {x.dtype}; convert it first, "
            "e.g. x.float()."
        )
    x2 = _classes_last(x, "cross_entropy")
    C = x2.shape[1]
    w = _const(weight, x)
    if w is not None and w.shape != (C,):
        raise ValueError(
            f"cross_entropy: weight must have shape ({C},), one per class, got {w.shape}."
        )
    if t.dtype.kind == "f":
        _same_shape("cross_entropy", x, t)
        t = cast(t, x.dtype)  # float64 targets must not upcast float32 logits
        return _keep_shape(
            SoftCrossEntropy(w, reduction, label_smoothing)(x2, _classes_last(t, "cross_entropy")),
            reduction,
            x,
            soft=True,
        )
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: target must be class indices (ints) or probabilities, got {t.dtype}."
        )
    tt = _class_targets("cross_entropy", x, t) if x.ndim > 1 else t.data.reshape(-1)
    _check_class_range("cross_entropy", tt, C, ignore_index)
    return _keep_shape(
        CrossEntropy(w, ignore_index, reduction, label_smoothing)(x2, tt), reduction, x
    )


def _keep_shape(loss, reduction, x, soft=False):
    """With reduction='none', give the per-element loss the target's shape (N, d1, ...)."""
    if reduction != "none":
        return loss
    shape = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    return reshape(loss, shape)


def nll_loss(
    input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities (N, C) or (N, C, d...)."""
    check_reduction("nll_loss", reduction)
    _check_ignore_index("nll_loss", ignore_index)
    x, t = as_tensor(input), as_tensor(target)
    _check_floating("nll_loss", x)
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices (ints), got {t.dtype}.")
    x2 = _classes_last(x, "nll_loss")
    w = _const(weight, x)
    if w is not None and w.shape != (x2.shape[1],):
        raise ValueError(f"nll_loss: weight must have shape ({x2.shape[1]},), got {w.shape}.")
    tt = _class_targets("nll_loss", x, t) if x.ndim > 1 else t.data.reshape(-1)
    _check_class_range("nll_loss", tt, x2.shape[1], ignore_index)
    return _keep_shape(NLLLoss(w, ignore_index, reduction)(x2, tt), reduction, x)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:
    """BCE on probabilities in [0, 1] (use ``binary_cross_entropy_with_logits`` on raw scores)."""
    check_reduction("binary_cross_entropy", reduction)
    p, t = as_tensor(input), as_tensor(target)
    _check_floating("binary_cross_entropy", p)
    _same_shape("binary_cross_entropy", p, t)
    t = cast(t, p.dtype)  # int or float64 targets must not upcast
    # written so that NaN fails too (every comparison with NaN is False), as in PyTorch
    for name, d, fix in (
        ("input", p.data, "Apply sigmoid first, or use binary_cross_entropy_with_logits on the "
         "raw scores"),
        ("target", t.data, "Targets are probabilities: 0 or 1 for hard labels"),
    ):  # fmt: skip
        inside = (d >= 0) & (d <= 1)
        if not inside.all():
            bad = d[~inside]
            raise ValueError(
                f"binary_cross_entropy: {name} must hold probabilities in [0, 1], got "
                f"{bad.size} value(s) outside, e.g. {float(bad[0]):.4g}. {fix}."
            )
    w = _const(weight, p)
    _check_weight("binary_cross_entropy", "weight", w, p.shape)
    return BinaryCrossEntropy(reduction)(p, t, _tracked(weight, w))


def binary_cross_entropy_with_logits(
    input,
    target,
    weight=None,
    reduction: str = "mean",
    pos_weight=None,
) -> Tensor:
    """BCE on logits, sigmoid folded in for stability; ``pos_weight`` weighs positive examples."""
    check_reduction("binary_cross_entropy_with_logits", reduction)
    op = "binary_cross_entropy_with_logits"
    x, t = as_tensor(input), as_tensor(target)
    _check_floating(op, x)
    _same_shape(op, x, t)
    w, pw = _const(weight, x), _const(pos_weight, x)
    _check_weight(op, "weight", w, x.shape)
    _check_weight(op, "pos_weight", pw, x.shape)
    return BCEWithLogits(reduction)(
        x, cast(t, x.dtype), _tracked(weight, w), _tracked(pos_weight, pw)
    )
