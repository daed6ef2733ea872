"""``SGD``: stochastic gradient descent with (Nesterov) momentum, as ``torch.optim.SGD``."""

from __future__ import annotations

from ..autograd import Tensor
from .optimizer import Optimizer, _finite, _negative

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

    For each parameter theta with gradient g, at step t (lr, momentum mu, dampening tau, weight
    decay lambda), exactly PyTorch's rule::

        g   = g + lambda * theta                     (if weight_decay != 0)
        b_1 = g,   b_t = mu * b_{t-1} + (1 - tau) * g  (if momentum != 0)
        g   = g + mu * b_t   if nesterov   else   b_t
        theta = theta - lr * g

    The momentum buffer starts as the first gradient itself (no dampening on step 1), and
    momentum multiplies the buffer, not the learning rate (PyTorch's form, unlike Sutskever et
    al.'s ``v = mu * v + lr * g``).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters to optimize, or parameter groups (dicts with ``params`` and their own options).
    lr : float
        Learning rate (default 1e-3, as in PyTorch).
    momentum : float
        Momentum factor mu (default 0: plain SGD).
    dampening : float
        Dampening tau for momentum (default 0).
    weight_decay : float
        L2 penalty lambda added to the gradient (default 0).
    nesterov : bool
        Nesterov momentum; needs momentum > 0 and dampening 0.

    State per parameter: ``momentum_buffer`` (when momentum != 0).

    Raises
    ------
    ValueError
        If lr, momentum or weight_decay is negative, or nesterov is asked for without momentum or
        with dampening.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import SGD
    >>> w = zg.nn.Parameter(zg.tensor([1.0, -2.0]))
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()      # gradient 2 w
    ...     opt.step()
    >>> w.data                            # 1 - 0.2 = 0.8, then 0.8 - 0.1 * (0.9 * 2 + 1.6)
    array([ 0.46, -0.92], dtype=float32)
    """

    _state_names = ("momentum_buffer",)
    _flag_options = ("nesterov",)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    def _problems(self, h: dict) -> list[str]:
        # dampening: any finite value, as in PyTorch; NaN or inf would reach every weight
        problems = _negative(h, "lr", "momentum", "weight_decay") + _finite(h, "dampening")
        if h["nesterov"] and not (h["momentum"] > 0 and h["dampening"] == 0):
            problems.append(
                "nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={h['momentum']!r}, dampening={h['dampening']!r}"
            )
        return problems

    def _step_group(self, group: dict) -> None:
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        dampening = float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        nesterov = group["nesterov"]
        for p in group["params"]:
            if p.grad is None:
                continue
            theta = p.data
            g = p.grad.data
            own = False  # True once g is a temporary of ours that may be overwritten
            if weight_decay != 0.0:
                g = theta * weight_decay
                g += p.grad.data
                own = True
            if momentum != 0.0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    b = g.copy()
                    state["momentum_buffer"] = Tensor.wrap(b)
                else:
                    b = buf.data
                    b *= momentum
                    b += g if dampening == 0.0 else (1.0 - dampening) * g
                if nesterov:
                    g_new = b * momentum
                    g_new += g
                    g, own = g_new, True
                else:
                    g, own = b, False
            if own:
                g *= lr
                theta -= g
            else:
                theta -= lr * g
            p.bump_version()
