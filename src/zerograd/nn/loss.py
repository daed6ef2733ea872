"""Losses as modules (``nn.MSELoss``, ``nn.CrossEntropyLoss`` ...): ``loss_fn(input, target)``."""

from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from ..creation import tensor
from ..functional.args import check_reduction, label_smoothing_arg
from .module import Module

__all__ = ["MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        check_reduction(type(self).__name__, reduction)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with a per-class (or per-element) ``weight``, kept as a buffer as PyTorch keeps it:
    in ``state_dict()`` when given, converted by ``.to(dtype)``."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _weight_tensor(type(self).__name__, "weight", weight))


def _weight_tensor(who: str, name: str, value):
    """``value`` (a Tensor, an array or a list of numbers, or None) as a constant Tensor."""
    if value is None or isinstance(value, Tensor):
        return value
    try:
        return tensor(value)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{who}: {name} must be a Tensor of weights (or None), got {type(value).__name__}: {e}"
        ) from None


class MSELoss(_Loss):
    """Mean squared error."""

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy on logits; targets are class indices or probabilities."""

    def __init__(
        self,
        weight=None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, reduction)
        label_smoothing = label_smoothing_arg("CrossEntropyLoss", label_smoothing)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood on log-probabilities (after ``LogSoftmax``)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities (after ``Sigmoid``)."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy on logits, stable; ``pos_weight`` weighs positives."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer(
            "pos_weight", _weight_tensor("BCEWithLogitsLoss", "pos_weight", pos_weight)
        )

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )
