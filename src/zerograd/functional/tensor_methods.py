"""Tensor's operators and methods, bound to the ops in one visible place.

``autograd.Tensor`` knows no ops (arrows point down only); importing ``zerograd.functional`` runs
this module once and gives Tensor ``+``, ``@``, ``.sum()``, ``.relu()`` and the rest, each a thin
call into the op of the same name.
"""

from __future__ import annotations

import numbers

from ..autograd import Tensor
from ..backend import array_module, as_array, check_device, is_device, resolve_dtype
from . import activations as A
from . import arithmetic as M
from . import indexing as I
from . import pointwise as Pw
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
    for name in ("mm", "bmm", "dot", "outer", "allclose", "equal"):
        setattr(T, name, getattr(M, name))
    for name in Pw.__all__:  # sin, cos, floor, round, isnan, nan_to_num ...
        setattr(T, name, getattr(Pw, name))
    T.neg = M.neg
    T.to = _to
    T.cpu = lambda self: self  # the one device: already there, as PyTorch returns self
    T.clone = M.clone
    T.float = lambda self: M.cast(self, "float32")
    T.double = lambda self: M.cast(self, "float64")
    T.long = lambda self: _integral(self, "int64")
    T.int = lambda self: _integral(self, "int32")
    T.bool = lambda self: _integral(self, "bool")
    T.type = lambda self, dtype: M.cast(self, dtype)
    T.type_as = lambda self, other: M.cast(self, other.dtype)
    # what PyTorch users ask a tensor about its storage and device
    T.contiguous = _contiguous
    T.is_contiguous = lambda self: bool(self.data.flags.c_contiguous)
    T.is_floating_point = lambda self: self.dtype.kind == "f"
    T.element_size = lambda self: self.dtype.itemsize
    T.nelement = lambda self: self.numel()
    T.ndimension = lambda self: self.ndim
    T.device = property(lambda self: _CPU, doc="The tensor's device: always ``device('cpu')``.")
    T.is_cuda = property(lambda self: False, doc="False: zerograd runs on the CPU.")
    T.new_zeros = _new_filled("new_zeros", 0)
    T.new_ones = _new_filled("new_ones", 1)
    T.new_empty = _new_filled("new_empty", None)
    T.new_full = _new_full
    T.new_tensor = _new_tensor
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
    for name in ("roll", "repeat", "unbind", "tril", "triu"):
        setattr(T, name, getattr(S, name))
    T.flip = _flip
    T.T = property(lambda self: S.permute(self, tuple(reversed(range(self.ndim)))))
    T.t = _t
    T.mT = property(_mT, doc="The last two dimensions swapped (a batch of transposes).")
    for name in I.__all__:  # gather, index_select, masked_fill, sort, argsort, topk, nonzero
        setattr(T, name, getattr(I, name))
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
    for name in ("prod", "cumsum", "norm", "count_nonzero"):
        setattr(T, name, getattr(R, name))
    # activations PyTorch has as methods
    for name in ("sigmoid", "tanh", "relu", "softmax", "log_softmax"):
        setattr(T, name, getattr(A, name))


class device:
    """The one device zerograd has, as ``torch.device`` reads: ``device('cpu')``, ``.type``
    ``'cpu'``, ``.index`` None; equal to the string ``'cpu'``. ``x.device`` returns it, and
    every ``device=`` argument takes it, so ``zeros(3, device=x.device)`` and ``x.to(y.device)``
    run as in PyTorch.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.ones(2)
    >>> x.device, x.device.type, x.device == "cpu"
    (device(type='cpu'), 'cpu', True)
    >>> zerograd.zeros(3, device=x.device).device
    device(type='cpu')
    """

    def __init__(self, type: str = "cpu", index=None):
        name = str(type)
        check_device("device", name)
        self.type, self.index = name.split(":")[0], index

    def __repr__(self) -> str:
        return f"device(type={self.type!r})"

    def __str__(self) -> str:
        return self.type

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            return other.split(":")[0] == self.type
        return getattr(other, "type", None) == self.type

    def __hash__(self) -> int:
        return hash(self.type)


_CPU = device("cpu")


def _integral(self, dtype) -> Tensor:
    """``x.long()``, ``x.int()``, ``x.bool()``: integer and bool results carry no gradient (as in
    PyTorch, where they cannot require grad); ``x`` itself when it already has the dtype."""
    dtype = resolve_dtype(dtype)
    if self.dtype == dtype:
        return self
    return Tensor.wrap(self.data.astype(dtype))


def _contiguous(self, memory_format=None) -> Tensor:
    """``x`` itself when its array is C-contiguous (row-major, as PyTorch's ``is_contiguous``),
    else a contiguous copy in the graph (``Tensor.contiguous``)."""
    if memory_format is not None and "contiguous_format" not in str(memory_format):
        raise ValueError(
            f"contiguous: memory_format {memory_format!r} is not supported; NumPy arrays have "
            "only the row-major (contiguous) layout."
        )
    return self if self.data.flags.c_contiguous else M.clone(self)


def _flip(self, *dims, **kwargs) -> Tensor:
    """``x.flip(0, 1)``, ``x.flip((0, 1))`` or ``x.flip(dims=(0, 1))``, as PyTorch's method
    takes each."""
    if kwargs:
        if dims or set(kwargs) != {"dims"}:
            raise TypeError(f"flip: expected dims as ints or dims=..., got {dims} and {kwargs}.")
        dims = (kwargs["dims"],)
    if len(dims) == 1:
        dims = dims[0]
    return S.flip(self, dims)


def _t(self) -> Tensor:
    """The transpose of a matrix (``Tensor.t``); a 0-d or 1-d tensor comes back as it is."""
    if self.ndim > 2:
        raise ValueError(
            f"t: expects a tensor of at most 2 dimensions, got shape {self.shape}; use "
            "transpose(dim0, dim1) or .mT for batches."
        )
    return S.transpose(self, 0, 1) if self.ndim == 2 else self


def _mT(self) -> Tensor:
    if self.ndim < 2:
        raise ValueError(
            f"mT: needs a tensor of at least 2 dimensions, got shape {self.shape}; use .t() or "
            "unsqueeze first."
        )
    return S.transpose(self, -2, -1)


def _size_args(op, size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    for n in size:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"{op}: sizes must be non-negative ints, got {tuple(size)}.")
    return tuple(int(n) for n in size)


def _new(self, op, data, dtype, device, requires_grad) -> Tensor:
    check_device(op, device)
    t = Tensor.wrap(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _new_filled(op, value):
    def new(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        dt = self.dtype if dtype is None else resolve_dtype(dtype)
        shape = _size_args(op, size)
        xp = array_module(self.data)
        data = xp.empty(shape, dt) if value is None else xp.full(shape, value, dt)
        return _new(self, op, data, dt, device, requires_grad)

    new.__name__ = op
    new.__doc__ = (
        f"A new tensor of the given size {'(uninitialised)' if value is None else f'of {value}s'}"
        f", with this tensor's dtype unless ``dtype`` is given (``Tensor.{op}``)."
    )
    return new


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor of ``size`` filled with ``fill_value``, this tensor's dtype unless ``dtype``
    is given (``Tensor.new_full``)."""
    dt = self.dtype if dtype is None else resolve_dtype(dtype)
    data = array_module(self.data).full(_size_args("new_full", (size,)), fill_value, dt)
    return _new(self, "new_full", data, dt, device, requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor copying ``data``, this tensor's dtype unless ``dtype`` is given
    (``Tensor.new_tensor``)."""
    dt = self.dtype if dtype is None else resolve_dtype(dtype)
    if isinstance(data, Tensor):
        data = data.data
    array = as_array(data).astype(dt, copy=True)
    return _new(self, "new_tensor", array, dt, device, requires_grad)


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
