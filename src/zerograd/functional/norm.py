"""Normalisation ops with PyTorch's semantics: ``batch_norm`` (Ioffe and Szegedy, 2015) and
``layer_norm`` (Ba, Kiros and Hinton, 2016).

``batch_norm`` serves ``nn.BatchNorm1d`` on (N, C) and (N, C, L) and ``BatchNorm2d`` on
(N, C, H, W): statistics are taken per channel C over every other dimension. ``layer_norm``
takes them per sample over its last dimensions (a transformer's features), the same in training
and evaluation.
"""

from __future__ import annotations

import numbers

from ..autograd import Function, Tensor, no_grad
from ..backend import array_module
from .args import as_tensor, real_arg, shape_of

__all__ = ["batch_norm", "layer_norm"]


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


class LayerNorm(Function):
    """Layer normalisation of x (*, D1..Dk) over its last k dims (the m = D1 * ... * Dk values of
    each sample), with the same statistics in training and evaluation.

    mu = mean(x),  var = mean((x - mu)^2)  (biased),  inv_std = 1 / sqrt(var + eps)
    xhat = (x - mu) * inv_std,   y = gamma * xhat + beta

    gbeta = sum(gy),   ggamma = sum(gy * xhat)   (sums over the leading dims *)
    gx = inv_std * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)),   gxhat = gamma * gy
         (means over the normalised dims: mu and var depend on x, the two terms are theirs)

    x: (*, D1..Dk), weight (gamma) and bias (beta): (D1..Dk) or None -> y: x's shape.
    """

    op_name = "layer_norm"

    def __init__(self, k, eps):
        self.k, self.eps = k, eps

    def forward(self, x, weight, bias):
        xp = array_module(x)
        axes = tuple(range(x.ndim - self.k, x.ndim))  # the normalised dims
        mu = x.mean(axis=axes, keepdims=True)
        xhat = x - mu
        # two passes, the mean removed before squaring: E[x^2] - E[x]^2 would cancel badly
        var = xp.square(xhat).mean(axis=axes, keepdims=True)
        inv_std = 1 / xp.sqrt(var + self.eps)
        xhat *= inv_std  # xhat is fresh: normalise it in place
        self.save_for_backward(xhat, weight, inv_std)
        if weight is None and bias is None:
            return xhat.copy()  # xhat is saved for backward: the output must not share it
        y = xhat * weight if weight is not None else xhat.copy()
        if bias is not None:
            y += bias
        return y

    def backward(self, gy):
        xhat, weight, inv_std = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        lead = tuple(range(gy.ndim - self.k))  # the dims gamma and beta broadcast over
        axes = tuple(range(gy.ndim - self.k, gy.ndim))
        gx = gw = gb = None
        if need_x:
            gxhat = gy * weight if weight is not None else gy.copy()
            # gx = inv_std * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)), in place
            proj = (gxhat * xhat).mean(axis=axes, keepdims=True)
            gxhat -= gxhat.mean(axis=axes, keepdims=True)
            gxhat -= xhat * proj
            gxhat *= inv_std
            gx = gxhat
        if need_w:
            gw = (gy * xhat).sum(axis=lead)
        if need_b:
            gb = gy.sum(axis=lead)
        return gx, gw, gb


def layer_norm(
    input,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each sample of ``input`` over its last ``len(normalized_shape)`` dims to mean 0
    and variance 1 (biased), then scale by ``weight`` and shift by ``bias``
    (``torch.nn.functional.layer_norm``).

    y = (x - mean) / sqrt(var + eps) * weight + bias, the same in training and evaluation.

    Parameters
    ----------
    input : Tensor
        Shape (*, *normalized_shape), floating point.
    normalized_shape : int or tuple of int
        The trailing dims to normalise over, e.g. the feature size ``d_model``.
    weight, bias : Tensor or None
        gamma and beta, shape ``normalized_shape``.
    eps : float
        Added to the variance before the square root.

    Raises
    ------
    ValueError
        When the input's trailing dims are not ``normalized_shape``, ``weight`` or ``bias`` has
        another shape, or ``eps`` is negative, NaN or infinite.
    TypeError
        On a non-floating input, or a parameter of another dtype than the input.

    Examples
    --------
    >>> import zerograd
    >>> y = layer_norm(zerograd.tensor([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]]), (3,), eps=0.0)
    >>> [[round(v, 3) for v in row] for row in y.tolist()]
    [[-1.225, 0.0, 1.225], [-0.707, -0.707, 1.414]]
    >>> layer_norm(zerograd.ones(2, 5), 4)
    Traceback (most recent call last):
    ...
    ValueError: layer_norm: input has shape (2, 5) but normalized_shape is (4,): ...
    """
    eps = real_arg("layer_norm", "eps", eps, ">= 0 and finite", lambda v: v >= 0)
    shape = normalized_shape_arg("layer_norm", normalized_shape)
    x = as_tensor(input)
    k = len(shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k :]) != shape:
        raise ValueError(
            f"layer_norm: input has shape {x.shape} but normalized_shape is {shape}: the input's "
            f"last {k} dimension(s) must be {shape}. Pass the trailing feature size(s), e.g. "
            f"normalized_shape={x.shape[-1:] if x.ndim else ()}."
        )
    if x.dtype.kind != "f":
        raise TypeError(f"layer_norm: input must be floating point, got {x.dtype}.")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        if tuple(shape_of(t)) != shape:
            raise ValueError(
                f"layer_norm: {name} has shape {shape_of(t)} but normalized_shape is {shape}; "
                "they must match."
            )
        if t.dtype != x.dtype:
            raise TypeError(
                f"layer_norm: {name} has dtype {t.dtype} but the input has {x.dtype}; convert "
                "one of them (e.g. the model with .to(dtype))."
            )
    return LayerNorm(k, float(eps))(x, weight, bias)


def normalized_shape_arg(who: str, normalized_shape) -> tuple:
    """``normalized_shape`` (an int or a sequence of ints, each positive) as a tuple."""
    shape = normalized_shape
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    ok = isinstance(shape, (tuple, list)) and all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0 for n in shape
    )
    if not ok or not shape:
        raise ValueError(
            f"{who}: normalized_shape must be a positive int or a non-empty tuple of positive "
            f"ints (the trailing dims to normalise), got {normalized_shape!r}."
        )
    return tuple(int(n) for n in shape)
