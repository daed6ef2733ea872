"""Gradient clipping (``torch.nn.utils``): ``clip_grad_norm_`` and ``clip_grad_value_``; and
``evaluating(model)``, eval mode for a ``with`` block.

The clipping functions edit the parameters' ``.grad`` in place and skip parameters without a
gradient. Call them between ``loss.backward()`` and ``optimizer.step()``; recurrent nets use them
against exploding gradients.
"""

from __future__ import annotations

import contextlib
import math

from ..autograd import Tensor, no_grad
from ..backend import array_module
from ..functional.args import real_arg

__all__ = ["clip_grad_norm_", "clip_grad_value_", "evaluating"]


@contextlib.contextmanager
def evaluating(model):
    """Put ``model`` in eval mode for a ``with`` block, then give every sub-module back the mode it
    had (a frozen batch norm left in eval mode inside a training model stays so).

    Examples
    --------
    >>> from zerograd import nn
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    >>> with evaluating(net):
    ...     net.training, net[1].training
    (False, False)
    >>> net.training, net[1].training
    (True, True)
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def _grads(parameters) -> list:
    """The ``.grad`` tensors of a parameter (or an iterable of them) that have one."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of all gradients seen as one vector (the norm of the
    per-parameter norms), ``max_i |g_i|`` for ``norm_type=inf``. When it is above ``max_norm``
    every gradient is multiplied in place by ``max_norm / (total + 1e-6)`` (PyTorch's epsilon,
    which keeps a zero norm from dividing by zero); otherwise the gradients are left as they are.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensors
        Usually ``model.parameters()``; those without ``.grad`` are skipped.
    max_norm : float
        >= 0; ``inf`` clips nothing and only measures the norm, as in PyTorch. (PyTorch also
        takes NaN, which turns every gradient into NaN, and a negative max_norm, which flips
        them; zerograd refuses both.)
    norm_type : float
        p > 0 of the p-norm; ``float("inf")`` (or ``"inf"``) for the largest absolute value.
        (PyTorch also takes p <= 0, which is no norm; zerograd refuses it.)
    error_if_nonfinite : bool
        Raise ``RuntimeError`` when the total norm is nan or inf instead of scaling by it.

    Returns
    -------
    Tensor
        The total norm before clipping, a 0-d tensor of the gradients' dtype (as PyTorch).

    Examples
    --------
    >>> import zerograd
    >>> w = zerograd.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w).sum().backward()  # grad (6, 8), norm 10
    >>> round(clip_grad_norm_([w], max_norm=1.0).item(), 4)
    10.0
    >>> [round(g, 4) for g in w.grad.tolist()]
    [0.6, 0.8]
    """
    grads = _grads(parameters)
    max_norm = _bound("clip_grad_norm_", "max_norm", max_norm)
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(
            f"clip_grad_norm_: norm_type must be a positive number or inf, got {norm_type}."
        )
    if not grads:
        return Tensor(0.0)
    xp = array_module(grads[0].data)
    dtype = grads[0].dtype
    if norm_type == math.inf:
        norms = [xp.abs(g.data).max() if g.data.size else dtype.type(0) for g in grads]
        total = xp.max(xp.stack(norms))
    else:
        norms = [xp.sum(xp.abs(g.data) ** norm_type) ** (1 / norm_type) for g in grads]
        total = xp.sum(xp.stack(norms) ** norm_type) ** (1 / norm_type)
    total = xp.asarray(total, dtype=dtype)
    if error_if_nonfinite and not xp.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{float(total)}, so they can't be clipped. Look for a nan or inf in the loss or the "
            "model, or pass error_if_nonfinite=False to scale by it anyway."
        )
    coef = max_norm / (float(total) + 1e-6)
    if coef < 1 or math.isnan(coef):  # as PyTorch: a nan norm turns every gradient into nan
        with no_grad():
            for g in grads:
                g.mul_(coef)
    return Tensor(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place.

    ``clip_value`` must be >= 0; ``inf`` clips nothing, as in PyTorch. (PyTorch takes NaN, which
    turns every gradient into NaN, and negative values, which set them all to -|clip_value|;
    zerograd refuses both.)

    Examples
    --------
    >>> import zerograd
    >>> w = zerograd.tensor([1.0, -3.0], requires_grad=True)
    >>> (w * w).sum().backward()  # grad (2, -6)
    >>> clip_grad_value_([w], 2.5)
    >>> w.grad.tolist()
    [2.0, -2.5]
    """
    clip_value = _bound("clip_grad_value_", "clip_value", clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)


def _bound(who: str, name: str, value) -> float:
    """A clipping bound: a number >= 0, inf meaning no clipping (NaN would spread to every
    gradient, a negative bound flip them)."""
    return real_arg(who, name, value, ">= 0 (inf: clip nothing)", lambda v: v >= 0, allow_inf=True)
