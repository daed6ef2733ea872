"""``Adam`` and ``AdamW``: bias-corrected running moments of the gradient (Kingma & Ba, 2015)."""

from __future__ import annotations

from .. import backend
from ..autograd import Tensor
from .optimizer import Optimizer, _lerp_, _negative

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, optionally AMSGrad, PyTorch's ``torch.optim.Adam``.

    For each parameter theta with gradient g, at step t = 1, 2, ... (lr, betas (beta1, beta2),
    weight decay lambda), moments m and v starting at zero::

        g     = g + lambda * theta                  (L2 penalty; AdamW decays theta instead)
        m     = beta1 * m + (1 - beta1) * g
        v     = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v),   v = v_max          (if amsgrad)
        theta = theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The bias corrections 1 - beta^t undo the moments' start at zero; eps is added after the
    corrected square root, as in PyTorch.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters to optimize, or parameter groups.
    lr : float
        Learning rate (default 1e-3).
    betas : (float, float)
        Decay rates of the first and second moment (default (0.9, 0.999)), each in [0, 1).
    eps : float
        Added to the denominator for numerical stability (default 1e-8).
    weight_decay : float
        L2 penalty lambda added to the gradient (default 0). For decoupled decay use ``AdamW``.
    amsgrad : bool
        Normalize by the largest second moment so far (Reddi et al., 2018).
    decoupled_weight_decay : bool
        Keyword only: decay theta directly (what ``AdamW`` is), as PyTorch's Adam accepts.

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v) and
    ``max_exp_avg_sq`` (v_max, when amsgrad).

    Raises
    ------
    ValueError
        If lr, eps or weight_decay is negative or a beta is outside [0, 1).

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import Adam
    >>> w = zg.nn.Parameter(zg.tensor([1.0, -2.0]))
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()                        # the first step is lr * sign(g): m / sqrt(v) = g / |g|
    >>> w.data.round(4)
    array([ 0.9, -1.9], dtype=float32)
    """

    _state_names = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _flag_options = ("amsgrad", "decoupled_weight_decay")
    _pair_options = ("betas",)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
    ):
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _problems(self, h: dict) -> list[str]:
        problems = _negative(h, "lr", "eps")
        for i, beta in enumerate(h["betas"]):
            if not 0.0 <= beta < 1.0:
                problems.append(f"betas[{i}] must be in [0, 1), got {beta!r}")
        return problems + _negative(h, "weight_decay")

    def _step_group(self, group: dict) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        amsgrad = group["amsgrad"]
        decoupled = group["decoupled_weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            theta = p.data
            xp = backend.array_module(theta)
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = Tensor.wrap(xp.zeros_like(theta))
                state["exp_avg_sq"] = Tensor.wrap(xp.zeros_like(theta))
                if amsgrad:
                    state["max_exp_avg_sq"] = Tensor.wrap(xp.zeros_like(theta))
            state["step"] += 1
            step = state["step"]
            g = p.grad.data
            if weight_decay != 0.0:
                if decoupled:
                    theta *= 1.0 - lr * weight_decay
                else:
                    g = theta * weight_decay
                    g += p.grad.data

            m = state["exp_avg"].data
            v = state["exp_avg_sq"].data
            tmp = xp.empty_like(theta)
            _lerp_(m, g, 1.0 - beta1, tmp)
            v *= beta2
            xp.multiply(g, g, out=tmp)
            tmp *= 1.0 - beta2
            v += tmp

            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2**0.5
            if amsgrad:
                v_max = state["max_exp_avg_sq"].data
                xp.maximum(v_max, v, out=v_max)
                xp.sqrt(v_max, out=tmp)
            else:
                xp.sqrt(v, out=tmp)
            tmp /= bias_correction2_sqrt
            tmp += eps
            xp.divide(m, tmp, out=tmp)  # tmp = m / denominator
            tmp *= step_size
            theta -= tmp
            p.bump_version()


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), ``torch.optim.AdamW``.

    The same update as ``Adam`` except that weight decay shrinks the parameter directly, before
    the moments see the gradient, instead of being added to the gradient::

        theta = theta * (1 - lr * lambda)
        m, v, theta: as in Adam with g the plain gradient

    so the decay is not rescaled by the adaptive denominator. The default weight_decay is 1e-2.

    Parameters
    ----------
    params, lr, betas, eps, amsgrad
        As in ``Adam``.
    weight_decay : float
        Decoupled decay coefficient lambda (default 1e-2).

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import AdamW
    >>> w = zg.nn.Parameter(zg.tensor([1.0, -2.0]))
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()                        # theta * (1 - 0.05), then - 0.1 * sign(g)
    >>> w.data
    array([ 0.85, -1.8 ], dtype=float32)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=True,
        )

    def _forced_options(self) -> dict:
        # AdamW is Adam with decoupled decay whatever a loaded state_dict says (as in PyTorch)
        return {"decoupled_weight_decay": True}
