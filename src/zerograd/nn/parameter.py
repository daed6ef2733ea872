"""``Parameter``: a Tensor that a Module registers as learnable (``torch.nn.Parameter``)."""

from __future__ import annotations

from ..autograd import Tensor, numpy_repr

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf Tensor that requires grad and is found by ``Module.parameters()``.

    ``Parameter(t)`` shares ``t``'s array (like PyTorch); assigning one to a Module attribute
    registers it under that name.

    Examples
    --------
    >>> import zerograd as zg
    >>> w = Parameter(zg.zeros(2))
    >>> w.requires_grad, w.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = Tensor([]).data.astype("float32")
        super().__init__(data.detach() if isinstance(data, Tensor) else data)
        if isinstance(data, Tensor):
            self._vbox = data._vbox  # shares the array, so it shares the version counter too
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + (
            f"tensor({numpy_repr(self.data, prefix='tensor(')}"
            + ("" if self.dtype == "float32" else f", dtype={self.dtype}")
            + (", requires_grad=True)" if self.requires_grad else ")")
        )
