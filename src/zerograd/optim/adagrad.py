"""``Adagrad``: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from .. import backend
from ..autograd import Tensor
from .optimizer import Optimizer, _negative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), PyTorch's ``torch.optim.Adagrad``.

    For each parameter theta with gradient g, at step t = 1, 2, ... (lr, lr_decay eta, weight
    decay lambda)::

        g     = g + lambda * theta                   (if weight_decay != 0)
        lr_t  = lr / (1 + (t - 1) * eta)
        s     = s + g * g                            (s_0 = initial_accumulator_value)
        theta = theta - lr_t * g / (sqrt(s) + eps)

    Coordinates with large past gradients take small steps; the sum only grows, so every step
    size shrinks over training.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters to optimize, or parameter groups.
    lr : float
        Learning rate (default 1e-2).
    lr_decay : float
        Learning-rate decay eta per step (default 0).
    weight_decay : float
        L2 penalty lambda added to the gradient (default 0).
    initial_accumulator_value : float
        Starting value of the sum s (default 0).
    eps : float
        Added to the denominator for numerical stability (default 1e-10).

    State per parameter (created with the optimizer, as in PyTorch): ``step`` (int) and ``sum``.

    Raises
    ------
    ValueError
        If any hyper-parameter is negative.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import Adagrad
    >>> w = zg.nn.Parameter(zg.tensor([1.0, -2.0]))
    >>> opt = Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()                        # theta - lr * g / |g| on the first step
    >>> w.data
    array([ 0.5, -1.5], dtype=float32)
    """

    _state_names = ("step", "sum")

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)

    def _problems(self, h: dict) -> list[str]:
        return _negative(h, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        # PyTorch creates Adagrad's state up front, so the sum starts at initial_accumulator_value
        group = self.param_groups[-1]
        for p in group["params"]:
            xp = backend.array_module(p.data)
            total = xp.full_like(p.data, group["initial_accumulator_value"])
            self.state[p] = {"step": 0, "sum": Tensor.wrap(total)}

    def _step_group(self, group: dict) -> None:
        lr = float(group["lr"])
        lr_decay = float(group["lr_decay"])
        weight_decay = float(group["weight_decay"])
        eps = float(group["eps"])
        for p in group["params"]:
            if p.grad is None:
                continue
            theta = p.data
            xp = backend.array_module(theta)
            state = self.state[p]
            if not state:
                state["step"] = 0
                total = xp.full_like(theta, group["initial_accumulator_value"])
                state["sum"] = Tensor.wrap(total)
            state["step"] += 1
            step = state["step"]
            g = p.grad.data
            if weight_decay != 0.0:
                g = theta * weight_decay
                g += p.grad.data
            clr = lr / (1 + (step - 1) * lr_decay)
            s = state["sum"].data
            tmp = g * g
            s += tmp
            xp.sqrt(s, out=tmp)
            tmp += eps
            xp.divide(g, tmp, out=tmp)  # tmp = g / (sqrt(s) + eps)
            tmp *= clr
            theta -= tmp
            p.bump_version()
