"""``Tensor``: one backend array, its gradient, and the node that made it.

Also the in-place changes (``add_``, ``__setitem__`` ...), which bump the version counter a tensor
shares with its views so backward can refuse modified saved arrays, and PyTorch's printing.
"""

from __future__ import annotations

from numpy import array2string as _array2string

from .. import backend
from ..backend import as_array
from . import grad_mode

__all__ = ["Tensor", "numpy_repr", "index_key"]


class Tensor:
    """An array with an optional gradient and the ``Function`` that made it.

    Build tensors with ``zerograd.tensor(data)`` (or ``zeros``, ``randn`` ...). ``data`` is the
    backend array itself (NumPy); ``grad`` is a Tensor once ``backward`` reached this tensor.
    Operators and methods (``+``, ``@``, ``.sum()``, ``.relu()`` ...) are bound by
    ``zerograd.functional``, which defines every op; ``backward()`` by ``function.py``, the
    engine (so a tensor, defined first, needs no engine).
    """

    __slots__ = ("data", "grad", "requires_grad", "_creator", "_index", "_vbox", "__weakref__")

    # NumPy defers to our reflected operators (``ndarray + Tensor`` calls ``Tensor.__radd__``).
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        elif isinstance(data, (float, list, tuple)):
            # Python floats become the default dtype (float32), as in zerograd.tensor and
            # torch.Tensor; NumPy would make them float64 and upcast everything they meet
            try:
                data = as_array(data)
            except ValueError:
                where = backend.ragged(data)
                if where is None:
                    raise
                raise ValueError(
                    f"Tensor: the nested lists are ragged: {where}. A tensor is rectangular: "
                    "every list at one level needs the same length (pad the short ones, or make "
                    "a tensor of each)."
                ) from None
            if data.dtype == backend.float64:
                data = data.astype(backend.get_default_dtype())
        data = as_array(data)
        self.data = data
        self.grad = None
        self.requires_grad = False
        self._creator = None
        self._index = 0
        self._vbox = [0]
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def wrap(cls, data, creator=None, index=0, vbox=None):
        """A Tensor around ``data`` with no copy and no checks: the fast constructor the ops,
        optimizers and loaders use. ``data`` must already be a backend array of the dtype wanted
        (``zerograd.tensor`` is the checked way); ``creator``, ``index`` and ``vbox`` are the
        engine's (the Function that made it, which output it is, the version counter it shares
        with the tensor it is a view of)."""
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = creator is not None
        t._creator = creator
        t._index = index
        t._vbox = [0] if vbox is None else vbox
        return t

    # --- what PyTorch users read off a tensor ------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def grad_fn(self):
        """The ``Function`` that made this tensor (None for leaves), PyTorch's name: the start
        of the public graph walk (``grad_fn.next_functions``, ``graph_nodes(tensor)``)."""
        return self._creator

    @property
    def output_nr(self) -> int:
        """Which output of ``grad_fn`` this tensor is (0 for leaves and one-output ops), PyTorch's
        ``Tensor.output_nr``."""
        return self._index

    @property
    def is_leaf(self) -> bool:
        return self._creator is None

    @property
    def _version(self) -> int:
        """How many times this tensor's data (or a view's) was modified in place."""
        return self._vbox[0]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def size(self, dim: int | None = None):
        """The shape, or the size of one dimension (PyTorch's ``Tensor.size``)."""
        if dim is None:
            return self.data.shape
        nd = self.data.ndim
        if not -nd <= dim < max(nd, 1):
            raise IndexError(
                f"size: dim {dim} is out of range for a tensor of shape {self.data.shape}; "
                f"use a dim in [{-nd}, {nd - 1}]."
            )
        return self.data.shape[dim]

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no length; use .item().")
        return len(self.data)

    def item(self):
        """The single value as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item: only a one-element tensor converts to a Python number, this one has "
                f"shape {self.data.shape}. Reduce it first (.sum(), .mean()) or index one element."
            )
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def numpy(self):
        """The data as a NumPy array sharing memory (PyTorch's rule: not while it requires grad)."""
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a tensor that requires grad, since edits to the "
                "array would bypass autograd. Use tensor.detach().numpy()."
            )
        return self.data

    def __array__(self, dtype=None, copy=None):
        a = self.data
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def detach(self) -> Tensor:
        """A tensor sharing this data (and its version counter) but outside the graph."""
        return Tensor.wrap(self.data, vbox=self._vbox)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (only leaves, only floating dtypes), return self."""
        if not requires_grad and self._creator is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor (made by "
                f"{self._creator.op_name}); use .detach() to take it out of the graph."
            )
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only floating-point tensors can require gradients, this one is "
                f"{self.data.dtype}. Convert it first, e.g. x.float()."
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad.")
        if self._creator is not None:
            c = self._creator
            if c._retained is None:
                c._retained = {}  # rare: no dict per node until someone asks
            c._retained[self._index] = self

    # --- in-place changes: bump the version counter -----------------------------------------
    def _check_inplace(self, op: str, other=None) -> None:
        if not grad_mode._grad_enabled:
            return
        if self.requires_grad:
            if self._creator is None:
                raise RuntimeError(
                    f"{op}: a leaf tensor that requires grad can't be changed in place while "
                    "grad is enabled. Do it inside `with zerograd.no_grad():` (as an optimizer "
                    "step does) or use the out-of-place form."
                )
            raise RuntimeError(
                f"{op}: in-place change of a tensor that is part of the autograd graph (made by "
                f"{self._creator.op_name}) is not supported; use the out-of-place form "
                "(e.g. y = y + x instead of y += x)."
            )
        if isinstance(other, Tensor) and other.requires_grad:
            raise RuntimeError(
                f"{op}: the operand requires grad but an in-place op records no graph; use the "
                "out-of-place form, or detach() the operand."
            )

    def bump_version(self) -> Tensor:
        """Record that the array was changed in place outside the in-place methods (an
        optimizer step, an init scheme, load_state_dict), so a graph that saved it refuses to
        backpropagate through the old values."""
        self._vbox[0] += 1
        return self

    def _apply_inplace(self, op: str, func, other=None) -> Tensor:
        self._check_inplace(op, other)
        o = other.data if isinstance(other, Tensor) else other
        try:
            func(self.data, o)
        except (ValueError, TypeError) as e:
            oshape = getattr(o, "shape", ())
            raise type(e)(
                f"{op}: can't update a tensor of shape {self.shape} and dtype {self.dtype} in "
                f"place with an operand of shape {oshape}: {e}. The result must keep the "
                "tensor's shape and dtype; use the out-of-place form otherwise."
            ) from None
        return self.bump_version()

    def add_(self, other, alpha=1) -> Tensor:
        if alpha == 1:
            return self._apply_inplace("add_", _iadd, other)
        return self._apply_inplace("add_", lambda a, b: _iadd(a, b * alpha), other)

    def sub_(self, other) -> Tensor:
        return self._apply_inplace("sub_", _isub, other)

    def mul_(self, other) -> Tensor:
        return self._apply_inplace("mul_", _imul, other)

    def div_(self, other) -> Tensor:
        return self._apply_inplace("div_", _idiv, other)

    def copy_(self, src) -> Tensor:
        return self._apply_inplace("copy_", _icopy, src)

    def fill_(self, value) -> Tensor:
        return self._apply_inplace("fill_", _icopy, value)

    def zero_(self) -> Tensor:
        return self._apply_inplace("zero_", _icopy, 0)

    def clamp_(self, min=None, max=None) -> Tensor:
        return self._apply_inplace("clamp_", lambda a, _: _iclip(a, min, max))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __setitem__(self, key, value) -> None:
        self._check_inplace("__setitem__", value)
        key = index_key(key)
        v = value.data if isinstance(value, Tensor) else value
        try:
            self.data[key] = v
        except (ValueError, IndexError, TypeError) as e:
            raise type(e)(
                f"__setitem__: can't assign a value of shape {getattr(v, 'shape', ())} to "
                f"index {key!r} of a tensor of shape {self.shape}: {e}"
            ) from None
        self.bump_version()

    # --- printing ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        a = self.data
        body = numpy_repr(a, prefix="tensor(")
        extras = []
        # like PyTorch: the default float dtype and int64 go unnamed, others are shown
        if (
            a.dtype != backend.get_default_dtype()
            and a.dtype.kind not in "ib"
            or (a.dtype.kind == "i" and a.dtype != "int64")
        ):
            extras.append(f"dtype={a.dtype}")
        if self._creator is not None:
            extras.append(f"grad_fn=<{type(self._creator).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or "
                ".all(), or compare one element."
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub":
            raise TypeError(
                f"only integer tensors of one element can be an index, got {self.dtype}."
            )
        return int(self.item())

    __hash__ = object.__hash__


def numpy_repr(a, prefix: str) -> str:
    """The array's values as PyTorch prints them (commas, aligned under ``prefix``)."""
    if a.size == 0:
        return f"[], size={a.shape}" if a.ndim > 1 else "[]"
    return _array2string(a, separator=", ", prefix=prefix)


def _iadd(a, b):
    a += b


def _isub(a, b):
    a -= b


def _imul(a, b):
    a *= b


def _idiv(a, b):
    a /= b


def _icopy(a, b):
    a[...] = b


def _iclip(a, lo, hi):
    backend.array_module(a).clip(a, lo, hi, out=a)


def index_key(key):
    """Turn Tensors (and lists) inside an index into arrays NumPy understands."""
    if isinstance(key, tuple):
        return tuple(index_key(k) for k in key)
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, list):
        return as_array(key)
    return key
