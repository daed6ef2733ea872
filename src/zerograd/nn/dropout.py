"""Dropout as layers: active in ``train()``, the identity in ``eval()``."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class Dropout(Module):
    """Zero each element with probability ``p`` while training, scaling the rest by 1/(1-p).

    ``inplace`` is accepted for PyTorch compatibility; zerograd always returns a new tensor.
    """

    _function = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got {p}.")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return self._function(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) feature maps with probability ``p`` while training
    (``torch.nn.Dropout2d``); see ``zerograd.functional.dropout2d``.

    Examples
    --------
    >>> Dropout2d(0.2)
    Dropout2d(p=0.2, inplace=False)
    """

    _function = staticmethod(F.dropout2d)
