"""``RMSprop``: gradients divided by a running root-mean-square of their recent values."""

from __future__ import annotations

from .. import backend
from ..autograd import Tensor
from .optimizer import Optimizer, _lerp_, _negative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e; centered form from Graves, 2013), ``torch.optim.RMSprop``.

    For each parameter theta with gradient g (lr, smoothing alpha, momentum mu, weight decay
    lambda), all running averages starting at zero::

        g     = g + lambda * theta                       (if weight_decay != 0)
        v     = alpha * v + (1 - alpha) * g * g
        m     = alpha * m + (1 - alpha) * g              (if centered)
        d     = sqrt(v - m * m) + eps   if centered   else   sqrt(v) + eps
        b     = mu * b + g / d,   theta = theta - lr * b (if momentum > 0)
        theta = theta - lr * g / d                       (otherwise)

    As in PyTorch, eps is added after the square root (TensorFlow adds it inside).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters to optimize, or parameter groups.
    lr : float
        Learning rate (default 1e-2).
    alpha : float
        Smoothing constant of the averages (default 0.99).
    eps : float
        Added to the denominator for numerical stability (default 1e-8).
    weight_decay : float
        L2 penalty lambda added to the gradient (default 0).
    momentum : float
        Momentum factor mu (default 0).
    centered : bool
        Normalize by an estimate of the gradient's variance instead of its second moment.

    State per parameter: ``step`` (int), ``square_avg`` (v), ``momentum_buffer`` (b, when
    momentum > 0) and ``grad_avg`` (m, when centered).

    Raises
    ------
    ValueError
        If any hyper-parameter is negative.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import RMSprop
    >>> w = zg.nn.Parameter(zg.tensor([1.0, -2.0]))
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
    >>> (w * w).sum().backward()
    >>> opt.step()                        # v = 0.25 g^2, so the step is lr * g / (|g| / 2)
    >>> w.data
    array([ 0.98, -1.98], dtype=float32)
    """

    _state_names = ("step", "square_avg", "momentum_buffer", "grad_avg")
    _flag_options = ("centered",)

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)

    def _problems(self, h: dict) -> list[str]:
        return _negative(h, "lr", "alpha", "eps", "weight_decay", "momentum")

    def _step_group(self, group: dict) -> None:
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        centered = group["centered"]
        for p in group["params"]:
            if p.grad is None:
                continue
            theta = p.data
            xp = backend.array_module(theta)
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = Tensor.wrap(xp.zeros_like(theta))
                if momentum > 0:
                    state["momentum_buffer"] = Tensor.wrap(xp.zeros_like(theta))
                if centered:
                    state["grad_avg"] = Tensor.wrap(xp.zeros_like(theta))
            state["step"] += 1
            g = p.grad.data
            if weight_decay != 0.0:
                g = theta * weight_decay
                g += p.grad.data

            v = state["square_avg"].data
            v *= alpha
            tmp = g * g
            tmp *= 1.0 - alpha
            v += tmp
            if centered:
                m = state["grad_avg"].data
                _lerp_(m, g, 1.0 - alpha, tmp)
                xp.multiply(m, m, out=tmp)
                xp.subtract(v, tmp, out=tmp)
                xp.sqrt(tmp, out=tmp)
            else:
                xp.sqrt(v, out=tmp)
            tmp += eps
            xp.divide(g, tmp, out=tmp)  # tmp = g / d
            if momentum > 0:
                b = state["momentum_buffer"].data
                b *= momentum
                b += tmp
                xp.multiply(b, lr, out=tmp)
            else:
                tmp *= lr
            theta -= tmp
            p.bump_version()
