"""Normalisation ops: ``batch_norm`` (Ioffe and Szegedy, 2015), with PyTorch's semantics.

One op serves ``nn.BatchNorm1d`` on (N, C) and (N, C, L) and, later, ``BatchNorm2d`` on
(N, C, H, W): statistics are taken per channel C over every other dimension.
"""

from __future__ import annotations

from ..autograd import Function, Tensor, no_grad
from ..backend import array_module
from .args import as_tensor, real_arg, shape_of

__all__ = ["batch_norm"]


class BatchNorm(Function):
    """Batch normalisation of x (N, C, *) per channel c, statistics over the m = N * prod(*)
    values of that channel.

    training:  mu = mean(x),  var = mean((x - mu)^2)  (biased, over the batch)
    eval:      mu = running_mean,  var = running_var
    xhat = (x - mu) * inv_std,   inv_std = 1 / sqrt(var + eps),   y = gamma * xhat + beta

    gbeta = sum(gy),   ggamma = sum(gy * xhat)   (sums over every dim but C)
    training:  gx = (1/m) * gamma * inv_std * (m * gy - sum(gy) - xhat * sum(gy * xhat))
               (mu and var depend on x: the two extra terms are their gradients)
    eval:      gx = gamma * inv_std * gy   (mu and var are constants)

    x: (N, C, *), weight (gamma) and bias (beta): (C,) or None -> y: (N, C, *).
    In training forward also leaves the batch statistics as ``self.mean`` and ``self.var`` (C,)
    for the wrapper, which takes them (and sets them to None) to update the running statistics:
    backward does not need them, and what it needs goes through ``save_for_backward``.
    """

    op_name = "batch_norm"

    def __init__(self, training, eps, running_mean=None, running_var=None):
        self.training, self.eps = training, eps
        self.running_mean, self.running_var = running_mean, running_var

    def forward(self, x, weight, bias):
        xp = array_module(x)
        C = x.shape[1]
        self.axes = (0,) + tuple(range(2, x.ndim))  # every dim but the channels
        self.pshape = (1, C) + (1,) * (x.ndim - 2)  # (C,) -> broadcastable against x
        if self.training:
            mu = x.mean(axis=self.axes, keepdims=True)
            xc = x - mu
            # two passes, the mean removed before squaring: E[x^2] - E[x]^2 would cancel badly
            var = xp.square(xc).mean(axis=self.axes, keepdims=True)
            self.mean, self.var = mu.reshape(C), var.reshape(C)
        else:
            xc = x - self.running_mean.reshape(self.pshape)
            var = self.running_var.reshape(self.pshape)
        inv_std = 1 / xp.sqrt(var + self.eps)
        xhat = xc
        xhat *= inv_std  # xc is fresh: normalise it in place
        self.save_for_backward(xhat, weight, inv_std)
        if weight is None and bias is None:
            return xhat.copy()  # xhat is saved for backward: the output must not share it
        y = xhat * weight.reshape(self.pshape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(self.pshape)
        return y

    def backward(self, gy):
        xhat, weight, inv_std = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        gbeta = gy.sum(axis=self.axes, keepdims=True)
        ggamma = (gy * xhat).sum(axis=self.axes, keepdims=True)
        gx = None
        if need_x:
            scale = inv_std if weight is None else weight.reshape(self.pshape) * inv_std
            if self.training:
                m = gy.size // gy.shape[1]
                # gx = (scale / m) * (m * gy - gbeta - xhat * ggamma), with one temporary
                gx = xhat * (ggamma / -m)
                gx += gy
                gx -= gbeta / m
                gx *= scale
            else:
                gx = scale * gy
        gw = ggamma.reshape(-1) if need_w else None
        gb = gbeta.reshape(-1) if need_b else None
        return gx, gw, gb


def batch_norm(
    input,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of ``input`` (N, C, *) to mean 0 and variance 1, then scale by
    ``weight`` and shift by ``bias`` (``torch.nn.functional.batch_norm``).

    With ``training=True`` the batch's mean and biased variance are used, and the running
    statistics (if given) are updated in place with the unbiased variance:
    ``running = (1 - momentum) * running + momentum * batch``. With ``training=False`` the
    running statistics are used instead (they are then required).

    Parameters
    ----------
    input : Tensor
        Shape (N, C) or (N, C, *) (e.g. (N, C, L) or (N, C, H, W)).
    running_mean, running_var : Tensor or None
        Shape (C,), same dtype as ``input``; not differentiated.
    weight, bias : Tensor or None
        gamma and beta, shape (C,).
    training : bool
        Normalise with batch statistics (and update the running ones) or with the running ones.
    momentum : float
        Weight of the new batch in the running averages.
    eps : float
        Added to the variance before the square root.

    Raises
    ------
    ValueError
        On a wrong shape, on one value per channel while training, on missing running
        statistics in evaluation, or on a negative, NaN or infinite ``eps`` or a ``momentum``
        outside [0, 1] (NaN included; PyTorch takes them and returns NaN).
    TypeError
        When a statistic or parameter has another dtype than ``input``.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.tensor([[1.0, 10.0], [3.0, 30.0]])
    >>> rm, rv = zerograd.zeros(2), zerograd.ones(2)
    >>> y = batch_norm(x, rm, rv, training=True)
    >>> [[round(v, 3) for v in row] for row in y.tolist()]
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> [round(v, 3) for v in rm.tolist()]  # 0.9 * 0 + 0.1 * batch mean (2 and 20)
    [0.2, 2.0]
    >>> [round(v, 3) for v in rv.tolist()]  # 0.9 * 1 + 0.1 * unbiased variance (2 and 200)
    [1.1, 20.9]
    """
    momentum, eps = batch_norm_args("batch_norm", momentum, eps)
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(
            f"batch_norm: input must have shape (N, C) or (N, C, *), got shape {x.shape}. "
            "Add a batch dimension, e.g. x.reshape(1, -1)."
        )
    if x.dtype.kind != "f":
        raise TypeError(f"batch_norm: input must be floating point, got {x.dtype}.")
    C = x.shape[1]
    named = (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    )
    for name, t in named:
        if t is None:
            continue
        if shape_of(t) != (C,):
            raise ValueError(
                f"batch_norm: {name} has shape {shape_of(t)} but the input {x.shape} has {C} "
                f"channels (dim 1), so it must have shape ({C},)."
            )
        if t.dtype != x.dtype:
            raise TypeError(
                f"batch_norm: {name} has dtype {t.dtype} but the input has {x.dtype}; convert "
                "one of them (e.g. the model with .to(dtype))."
            )
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: pass both running_mean and running_var, or neither.")
    if training:
        m = x.numel() // C if C else 0
        if m == 0:
            # an empty batch (N = 0) gives an empty output, as in PyTorch; it has no statistics,
            # so it is normalised with neutral ones and the running statistics stay as they are
            xp = array_module(x.data)
            neutral = xp.zeros(C, dtype=x.dtype), xp.ones(C, dtype=x.dtype)
            return BatchNorm(False, float(eps), *neutral)(x, weight, bias)
        if m == 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {x.shape}. Use a batch of 2 or more, or call .eval() on the model."
            )
        fn = BatchNorm(True, float(eps))
        y = fn(x, weight, bias)
        mean, var = fn.mean, fn.var
        fn.mean = fn.var = None  # taken: the node keeps only what its backward saved
        if running_mean is not None:
            momentum = float(momentum)
            unbiased = var * (m / (m - 1))  # the running variance is unbiased, as in PyTorch
            with no_grad():
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
                running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
        return y
    if running_mean is None:
        raise ValueError(
            "batch_norm: running_mean and running_var are needed in evaluation "
            "(training=False); pass them, or use training=True to normalise with batch statistics."
        )
    return BatchNorm(False, float(eps), running_mean.data, running_var.data)(x, weight, bias)


def batch_norm_args(who: str, momentum, eps, layer: bool = False) -> tuple:
    """``momentum`` in [0, 1] and ``eps`` >= 0, finite, as floats: a NaN or inf would make every
    output or running statistic NaN. The layers (``layer``) also take momentum None (a cumulative
    average) and need eps > 0, as they always did; the op takes eps = 0, as PyTorch's does."""
    if momentum is not None or not layer:
        expected = "in [0, 1] or None" if layer else "in [0, 1]"
        momentum = real_arg(who, "momentum", momentum, expected, lambda v: 0 <= v <= 1)
    if layer:
        return momentum, real_arg(who, "eps", eps, "positive and finite", lambda v: v > 0)
    return momentum, real_arg(who, "eps", eps, ">= 0 and finite", lambda v: v >= 0)
