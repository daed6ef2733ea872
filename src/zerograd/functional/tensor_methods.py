"""Tensor's operators and methods, bound to the ops in one visible place.

``autograd.Tensor`` knows no ops (arrows point down only); importing ``zerograd.functional`` runs
this module once and gives Tensor ``+``, ``@``, ``.sum()``, ``.relu()`` and the rest, each a thin
call into the op of the same name.
"""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import check_device, is_device
from . import activations as A
from . import arithmetic as M
from . import reduce as R
from . import shape as S


def _reflected(op):
    def method(self, other):
        return op(other if isinstance(other, Tensor) else M._number_or_tensor(other), self)

    return method


def _bind():
    T = Tensor
    # arithmetic operators (x + 1, 1 + x, x @ W ...)
    T.__add__, T.__radd__ = M.add, _reflected(M.add)
    T.__sub__, T.__rsub__ = M.sub, _reflected(M.sub)
    T.__mul__, T.__rmul__ = M.mul, _reflected(M.mul)
    T.__truediv__, T.__rtruediv__ = M.div, _reflected(M.div)
    T.__pow__, T.__rpow__ = M.pow, _reflected(M.pow)
    T.__matmul__, T.__rmatmul__ = M.matmul, _reflected(M.matmul)
    T.__neg__ = M.neg
    T.__pos__ = lambda self: self
    T.__abs__ = M.abs
    # comparisons give bool tensors and record no graph
    T.__eq__, T.__ne__ = M.eq, M.ne
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = M.lt, M.le, M.gt, M.ge
    T.__getitem__ = S.getitem
    # element-wise methods
    for name in (
        "add",
        "sub",
        "mul",
        "div",
        "pow",
        "matmul",
        "exp",
        "log",
        "sqrt",
        "abs",
        "clamp",
        "clip",
        "maximum",
        "minimum",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
    ):
        setattr(T, name, getattr(M, name))
    T.neg = M.neg
    T.to = _to
    T.cpu = lambda self: self  # the one device: already there, as PyTorch returns self
    T.clone = M.clone
    T.float = lambda self: M.cast(self, "float32")
    T.double = lambda self: M.cast(self, "float64")
    T.long = lambda self: M.cast(self, "int64")
    T.type = lambda self, dtype: M.cast(self, dtype)
    # shapes
    for name in (
        "reshape",
        "view",
        "flatten",
        "permute",
        "transpose",
        "squeeze",
        "unsqueeze",
        "expand",
        "broadcast_to",
        "split",
        "chunk",
    ):
        setattr(T, name, getattr(S, name))
    T.T = property(lambda self: S.permute(self, tuple(reversed(range(self.ndim)))))
    T.expand_as = lambda self, other: S.expand(self, other.shape)
    T.view_as = lambda self, other: S.reshape(self, other.shape)
    # reductions
    for name in (
        "sum",
        "mean",
        "max",
        "min",
        "amax",
        "amin",
        "var",
        "std",
        "logsumexp",
        "argmax",
        "argmin",
    ):
        setattr(T, name, getattr(R, name))
    T.any, T.all = R.any, R.all
    # activations PyTorch has as methods
    for name in ("sigmoid", "tanh", "relu", "softmax", "log_softmax"):
        setattr(T, name, getattr(A, name))


def _to(self, *args, **kwargs) -> Tensor:
    """``x.to(dtype)``, ``x.to("cpu")``, ``x.to(device, dtype)``, ``x.to(other)``, as PyTorch's.

    The result is differentiable; ``x`` itself when nothing changes, unless ``copy=True``.
    ``non_blocking`` is accepted and has nothing to do on the CPU.
    """
    allowed = {"device", "dtype", "non_blocking", "copy"}
    if unknown := sorted(set(kwargs) - allowed):
        raise TypeError(
            f"to: unexpected argument(s) {', '.join(unknown)}; it takes a dtype, a device "
            "('cpu'), another tensor, non_blocking and copy."
        )
    args = list(args)
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    if args and isinstance(args[0], Tensor):
        dtype = args.pop(0).dtype
    elif args and is_device(args[0]):
        device = args.pop(0)
        if args and not isinstance(args[0], bool):
            dtype = args.pop(0)
    elif args and not isinstance(args[0], bool):
        dtype = args.pop(0)
    if len(args) > 2 or not all(isinstance(a, bool) for a in args):
        raise TypeError(
            f"to: expected (dtype), (device, dtype) or (tensor), then non_blocking and copy as "
            f"bools; got {len(args)} more argument(s): {args!r}."
        )
    copy = args[1] if len(args) == 2 else kwargs.get("copy", False)
    check_device("to", device)
    out = self if dtype is None else M.cast(self, dtype)
    return M.clone(out) if copy and out is self else out


_bind()
