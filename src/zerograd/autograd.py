"""Autograd core: ``Tensor``, ``Function``, the backward pass and grad modes.

Define-by-run, as in PyTorch: every ``Function`` call on tensors that require grad records a node
(the function object, its inputs and what it saved for backward). ``Tensor.backward()`` sorts the
nodes reachable from the output once, in reverse topological order, without recursion (a graph
20,000 ops deep is fine), and walks them calling each node's ``backward``. Gradients accumulate into
leaves' ``.grad``; the graph and its saved arrays are freed after use unless ``retain_graph=True``.

In-place changes are tracked by a version counter shared by a tensor and its views: each node
remembers the versions of the tensors it saved, and backward refuses to run on modified data.

Anomaly mode (``detect_anomaly()``, PyTorch's name) checks every op's forward output and every
gradient its backward returns for NaN and inf, and raises ``AnomalyError`` at the first op that
turned finite values into non-finite ones. Off, it costs one boolean test per op.

This module knows no ops: ``zerograd.functional`` defines them and binds Tensor's operators.
"""

from __future__ import annotations

import functools
import os
import sys

from numpy import array2string as _array2string

from . import backend
from .backend import as_array, is_array

__all__ = [
    "Tensor",
    "Function",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
    "graph_nodes",
]

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()`` (or ``set_grad_enabled(False)``)."""
    return _grad_enabled


class set_grad_enabled:
    """Turn graph recording on or off; usable as a function, context manager or decorator.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.ones(2, requires_grad=True)
    >>> with set_grad_enabled(False):
    ...     (x * 2).requires_grad
    False
    """

    def __init__(self, mode: bool = True):
        global _grad_enabled
        self._prev = _grad_enabled
        self._mode = bool(mode)
        _grad_enabled = self._mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev
        return False

    def __call__(self, func):
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """Context manager and decorator in which no graph is recorded (evaluation, optimizer steps).

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.ones(2, requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self):
        self._mode = False

    def __enter__(self):
        global _grad_enabled
        self._prev = _grad_enabled
        _grad_enabled = False
        return self


class enable_grad(set_grad_enabled):
    """Context manager and decorator that turns recording back on inside ``no_grad``."""

    def __init__(self):
        self._mode = True

    def __enter__(self):
        global _grad_enabled
        self._prev = _grad_enabled
        _grad_enabled = True
        return self


# --- anomaly mode ----------------------------------------------------------------------------

_anomaly_enabled = False

#: "Where am I" labels, innermost last, that higher layers push and pop while anomaly mode is on
#: (``zerograd.nn`` pushes the running module, e.g. ``features.3 (Conv2d(16, 32, ...))``). The core
#: only reads them with ``str()``, so it knows nothing of modules. Mutate it, never rebind it.
anomaly_context: list = []

#: Called as ``listener(enabled)`` each time anomaly mode turns on or off: ``zerograd.nn`` installs
#: its forward hooks this way, so they cost nothing while the mode is off.
anomaly_listeners: list = []

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AnomalyError(RuntimeError):
    """A NaN or inf first appeared in an op's forward output or backward gradient (anomaly mode).

    Attributes: ``op`` (the Function's class name), ``phase`` ("forward", "backward", or in
    ``fit`` also "data" and "optimizer step"), ``where`` (the innermost running layer, e.g.
    ``features.3 (Conv2d(16, 32, kernel_size=(3, 3), ...))``, or None outside any module),
    ``shape``, ``nan`` and ``inf`` (counts); ``fit`` adds ``epoch``, ``batch_index`` and
    ``history``.
    """

    def __init__(self, message, op=None, phase=None, where=None, shape=None, nan=0, inf=0):
        super().__init__(message)
        self.op, self.phase, self.where = op, phase, where
        self.shape, self.nan, self.inf = shape, nan, inf
        self.epoch = self.batch_index = None


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` (or after ``set_detect_anomaly(True)``)."""
    return _anomaly_enabled


def _set_anomaly(mode: bool) -> None:
    global _anomaly_enabled
    if mode == _anomaly_enabled:
        return
    _anomaly_enabled = mode
    anomaly_context.clear()  # labels left by a forward pass that raised
    for listener in list(anomaly_listeners):
        listener(mode)


class set_detect_anomaly:
    """Turn anomaly mode on or off; usable as a function, context manager or decorator.

    As a context manager it restores the previous setting on exit, also when the body raises.
    """

    def __init__(self, mode: bool):
        self._prev = _anomaly_enabled
        self._mode = bool(mode)
        _set_anomaly(self._mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set_anomaly(self._prev)
        return False

    def __call__(self, func):
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_detect_anomaly(mode):
                return func(*args, **kwargs)

        return wrapper


class detect_anomaly(set_detect_anomaly):
    """Context manager and decorator that checks every op for NaN and inf (PyTorch's name).

    Inside it, each ``Function``'s forward output and each gradient its backward returns is
    checked; the first op that turns finite values into NaN or inf raises ``AnomalyError`` naming
    the op, forward or backward, the shapes, how many values were NaN or inf, and the layer it ran
    in (the innermost running ``nn.Module`` with its name in the model, recorded at forward time
    for backward). An op whose inputs already held NaN or inf is not blamed: the one that made
    them was (or they came from the data or a parameter). A training step takes 1.1-1.6x as long
    (every array is scanned, each op remembers its layer and caller), so use it to find a
    problem, not to train. Off, the cost is one boolean test per op.

    Examples
    --------
    >>> import numpy as np
    >>> import zerograd as zg
    >>> x = zg.tensor([1.0, -1.0])
    >>> with detect_anomaly(), np.errstate(invalid="ignore"):  # NumPy would warn first
    ...     x.log()
    Traceback (most recent call last):
      ...
    zerograd.autograd.AnomalyError: anomaly in the forward of Log outside any nn.Module ...
    """

    def __init__(self):
        self._mode = True

    def __enter__(self):
        self._prev = _anomaly_enabled
        _set_anomaly(True)
        return self


def _nonfinite(a):
    """(NaN count, inf count) when floating ``a`` holds a NaN or inf, else None."""
    if not is_array(a):
        if not isinstance(a, (float, complex)) and not hasattr(a, "dtype"):
            return None  # ints, bools, None, shapes: constants that can't be NaN
        a = as_array(a)
    if a.dtype.kind not in "fc":
        return None
    xp = backend.array_module(a)
    if xp.isfinite(a).all():
        return None
    return int(xp.isnan(a).sum()), int(xp.isinf(a).sum())


def _describe(a) -> str:
    """One input for a message: shape, dtype and the range of its finite values."""
    if not is_array(a):
        return repr(a)[:40]
    text = f"shape {a.shape} {a.dtype}"
    if a.dtype.kind == "f" and a.size:
        xp = backend.array_module(a)
        finite = a[xp.isfinite(a)]
        if finite.size:
            text += f" in [{float(finite.min()):.4g}, {float(finite.max()):.4g}]"
    return text


def _counts(bad, a) -> str:
    return f"{bad[0]} NaN and {bad[1]} inf values (of {getattr(a, 'size', 1)})"


def _caller() -> str | None:
    """The innermost frame outside the zerograd package: the user's line that ran the op."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith(_PACKAGE_DIR):
            return f"{path}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return None


def _origin(where, caller) -> str:
    text = f"in layer {where}" if where is not None else "outside any nn.Module"
    return text + (f" (called from {caller})" if caller else "")


_FORWARD_HINT = (
    "Check the values reaching this op: a log or division at 0 or below, the sqrt of a negative "
    "number, an exp or a product overflowing float32 (above 3.4e38). If they grew during "
    "training, lower the learning rate or clip gradients; prefer the fused, stable ops "
    "(F.cross_entropy on logits, F.log_softmax)."
)
_BACKWARD_HINT = (
    "The forward values were fine but this op's gradient formula blows up at them (sqrt or log "
    "at 0, a division by a tiny number, a saturated function): keep its inputs away from that "
    "point (add a small epsilon, clamp) or use a numerically stable op."
)


def _anomaly_forward(fn: Function, arrays, y) -> None:
    """Anomaly mode, after ``fn.forward``: remember the layer, blame fn for a new NaN or inf."""
    where = str(anomaly_context[-1]) if anomaly_context else None
    caller = _caller()
    fn._anomaly_origin = (where, caller)  # for backward's message
    outs = y if type(y) is tuple else (y,)
    for k, out in enumerate(outs):
        bad = _nonfinite(out)
        if bad is None:
            continue
        if any(_nonfinite(a) is not None for a in arrays):
            return  # the inputs already held NaN or inf: whatever made them is to blame
        name = type(fn).__name__
        which = f"output {k}" if len(outs) > 1 else "output"
        inputs = "; ".join(f"input {i}: {_describe(a)}" for i, a in enumerate(arrays))
        raise AnomalyError(
            f"anomaly in the forward of {name} {_origin(where, caller)}: its {which} of shape "
            f"{getattr(out, 'shape', ())} has {_counts(bad, out)}, but its inputs were all "
            f"finite ({inputs}). {_FORWARD_HINT}",
            op=name,
            phase="forward",
            where=where,
            shape=getattr(out, "shape", ()),
            nan=bad[0],
            inf=bad[1],
        )


def _anomaly_backward(fn: Function, gys, gxs) -> None:
    """Anomaly mode, after ``fn.backward``: blame fn for a gradient with a new NaN or inf."""
    for k, (gx, need) in enumerate(zip(gxs, fn.needs_input_grad)):
        if not need or gx is None:
            continue
        bad = _nonfinite(gx)
        if bad is None:
            continue
        if any(_nonfinite(g) is not None for g in gys):
            return  # the upstream gradient already held NaN or inf
        arrays = [x.data if isinstance(x, Tensor) else x for x in fn.inputs]
        if any(_nonfinite(a) is not None for a in arrays):
            return  # so did the forward inputs: not this op's doing
        name = type(fn).__name__
        where, caller = getattr(fn, "_anomaly_origin", (None, None))
        made = (
            f"made in forward {_origin(where, caller)}"
            if hasattr(fn, "_anomaly_origin")
            else "made before anomaly mode was on, so its layer is unknown"
        )
        upstream = "; ".join(_describe(g) for g in gys)
        raise AnomalyError(
            f"anomaly in the backward of {name} ({made}): the gradient it returned for input {k} "
            f"(shape {getattr(gx, 'shape', ())}) has {_counts(bad, gx)}, though the upstream "
            f"gradient ({upstream}) and the forward inputs were all finite. {_BACKWARD_HINT}",
            op=name,
            phase="backward",
            where=where,
            shape=getattr(gx, "shape", ()),
            nan=bad[0],
            inf=bad[1],
        )


# ---------------------------------------------------------------------------------------------


class Tensor:
    """An array with an optional gradient and the ``Function`` that made it.

    Build tensors with ``zerograd.tensor(data)`` (or ``zeros``, ``randn`` ...). ``data`` is the
    backend array itself (NumPy); ``grad`` is a Tensor once ``backward`` reached this tensor.
    Operators and methods (``+``, ``@``, ``.sum()``, ``.relu()`` ...) are bound by
    ``zerograd.functional``, which defines every op.
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
    def _wrap(cls, data, creator=None, index=0, vbox=None):
        """Internal fast constructor: no checks, ``data`` must already be a backend array."""
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
        return Tensor._wrap(self.data, vbox=self._vbox)

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

    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Compute gradients of this tensor with respect to the graph's leaves.

        Parameters
        ----------
        grad : Tensor or array, optional
            The gradient of some final scalar with respect to this tensor. Required unless this
            tensor has exactly one element (a loss), where it defaults to 1.
        retain_graph : bool
            Keep the graph and its saved arrays so backward can run through it again.
        """
        _run_backward(self, grad, retain_graph)

    # --- in-place changes: bump the version counter -----------------------------------------
    def _check_inplace(self, op: str, other=None) -> None:
        if not _grad_enabled:
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

    def _bump(self) -> Tensor:
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
        return self._bump()

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
        self._bump()

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


# ---------------------------------------------------------------------------------------------


class Function:
    """One differentiable operation: ``forward`` and ``backward`` on raw arrays.

    Subclass it, keep hyper-parameters in ``__init__``, and call an instance on tensors::

        class Square(Function):
            def forward(self, x):
                self.save_for_backward(x)
                return x * x

            def backward(self, gy):
                (x,) = self.saved
                return 2 * x * gy

        y = Square()(x)

    ``forward`` gets the inputs' arrays (non-tensor inputs are passed as they are and treated as
    constants) and returns one array or a tuple. ``backward`` gets one upstream gradient per output
    and returns one gradient per input (a single array when there is one input); it may return
    None for an input whose ``self.needs_input_grad`` is False.

    A recorded node is also the public view of the graph (PyTorch's names): ``name()``,
    ``next_functions``, ``inputs``, ``output_shapes``; ``Tensor.grad_fn`` and
    ``Tensor.output_nr`` lead to it, ``graph_nodes(tensor)`` lists them all.
    """

    #: True when the output is a view of the first input (they share a version counter).
    view = False

    #: The op's name in error messages and drawings (``"matmul"``, ``"batch_norm"``): the class
    #: name lower-cased unless a subclass sets it. ``name()`` returns it.
    op_name = "function"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get("name"), str):
            raise TypeError(
                f"{cls.__name__}: set the op's name with op_name = {cls.__dict__['name']!r}; "
                "name() is the method that returns it (PyTorch's grad_fn.name())."
            )
        if "op_name" not in cls.__dict__:
            cls.op_name = cls.__name__.lower()

    # --- the graph, read-only (what drawing tools and anomaly mode walk) ----------------------
    def name(self) -> str:
        """The node's name, PyTorch's ``grad_fn.name()``: the op's name, e.g. ``"matmul"``.

        PyTorch returns its class-like name (``"MmBackward0"``); ``repr(grad_fn)`` gives that
        form here (``<MatMulBackward>``).
        """
        return self.op_name

    @property
    def next_functions(self) -> tuple:
        """One ``(Function, output_nr)`` pair per input, PyTorch's ``grad_fn.next_functions``:
        the node that made that input and which of its outputs the input is, or ``(None, 0)``
        for an input no node made (a leaf tensor, a constant, a non-tensor argument).

        Unlike PyTorch, leaves get no ``AccumulateGrad`` node: read the leaf tensors themselves
        from ``inputs``, in the same order.

        Raises
        ------
        RuntimeError
            If ``backward()`` already freed this part of the graph.
        """
        if self.inputs is None:
            raise RuntimeError(_freed_message("next_functions", self))
        pairs = []
        for x in self.inputs:
            made = isinstance(x, Tensor) and x._creator is not None
            pairs.append((x._creator, x._index) if made else (None, 0))
        return tuple(pairs)

    #: The arguments this node was called with (tensors and constants, in order); None once
    #: ``backward()`` freed the graph (without ``retain_graph=True``) or when nothing recorded.
    inputs = None

    @property
    def output_shapes(self) -> list | None:
        """The shape of each output of a node with several (``split``, an LSTM layer with its
        states); None for a node with one output, whose shape is its tensor's ``shape``."""
        meta = getattr(self, "_out_meta", None)
        return None if meta is None else [shape for shape, _ in meta]

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays for backward; their tensors' versions are checked before it runs."""
        self.saved = arrays

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__} must define forward(*arrays)")

    def backward(self, *grads):
        raise NotImplementedError(f"{type(self).__name__} must define backward(*grads)")

    def error_message(self, arrays, exc: Exception) -> str | None:
        """A message for when ``forward`` fails on these arrays (None: a generic one)."""
        return None

    def __call__(self, *inputs):
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        self.saved = ()
        try:
            y = self.forward(*arrays)
        except (ValueError, IndexError, TypeError) as e:
            msg = self.error_message(arrays, e)
            if msg is None:
                shapes = ", ".join(str(getattr(a, "shape", type(a).__name__)) for a in arrays)
                msg = f"{self.op_name}: failed on inputs of shapes {shapes}: {e}"
            raise type(e)(msg) from None
        if _anomaly_enabled:
            _anomaly_forward(self, arrays, y)

        record = False
        if _grad_enabled:
            for x in inputs:
                if isinstance(x, Tensor) and x.requires_grad:
                    record = True
                    break
        if not record:
            self.saved = None
            if type(y) is tuple:
                return tuple(Tensor._wrap(as_array(o)) for o in y)
            if not is_array(y):
                y = as_array(y)
            view_of = inputs[0] if self.view and isinstance(inputs[0], Tensor) else None
            return Tensor._wrap(y, vbox=None if view_of is None else view_of._vbox)

        self.inputs = inputs
        self.needs_input_grad = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        self._grads = None
        self._retained = None
        if type(y) is tuple:
            outs = tuple(Tensor._wrap(as_array(o), self, i) for i, o in enumerate(y))
            self._out_meta = [(o.shape, o.dtype) for o in outs]
        else:
            if not is_array(y):
                y = as_array(y)
            vbox = inputs[0]._vbox if self.view and isinstance(inputs[0], Tensor) else None
            outs = (Tensor._wrap(y, self, 0, vbox),)
            self._out_meta = None
        # remember the versions of the tensors whose arrays backward will read: their counters,
        # not the tensors, so a saved output (exp, sigmoid) makes no node -> output -> node cycle
        # and an unused graph is freed by reference counting, without waiting for the collector
        versions = []
        for a in self.saved:
            for t in inputs:
                if isinstance(t, Tensor) and t.data is a:
                    versions.append((t._vbox, t._vbox[0], a.shape))
                    break
            else:
                for t in outs:
                    if t.data is a:
                        versions.append((t._vbox, t._vbox[0], a.shape))
                        break
        self._versions = versions
        return outs if type(y) is tuple else outs[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def _run_backward(root: Tensor, grad, retain_graph: bool) -> None:
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no grad_fn. Create the inputs "
            "with requires_grad=True (or call .requires_grad_()), and don't build the loss inside "
            "no_grad()."
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implied only for a one-element output, this one has shape "
                f"{root.shape}. Reduce it to a scalar first (loss.sum() or loss.mean()) or pass "
                "grad= of the same shape."
            )
        g = backend.array_module(root.data).ones_like(root.data)
    else:
        g = as_array(grad.data if isinstance(grad, Tensor) else grad, dtype=root.data.dtype)
        if g.shape != root.shape:
            raise ValueError(
                f"backward: grad has shape {g.shape} but the tensor has shape {root.shape}; "
                "they must match."
            )
    fn = root._creator
    if fn is None:
        _accumulate_leaf(root, g, shared=True)
        return
    order = _topological_order(fn)
    fn._grads = [None] * (len(fn._out_meta) if fn._out_meta else 1)
    fn._grads[root._index] = g

    for fn in order:
        gys = fn._grads
        if gys is None or (gys[0] is None if len(gys) == 1 else all(g is None for g in gys)):
            _release(fn, retain_graph)
            continue
        for vbox, version, shape in fn._versions:
            if vbox[0] != version:
                raise RuntimeError(
                    f"backward: an array that {fn.op_name} saved for its gradient was modified in "
                    f"place (its tensor of shape {shape} is at version {vbox[0]}, expected "
                    f"{version}). Use out-of-place ops (y = y * 2, not y.mul_(2) or y *= 2) on "
                    "tensors the graph still needs."
                )
        if fn._out_meta is not None:
            # outputs nobody used get zero gradients, from the module of the ones that were
            xp = backend.array_module(next(gy for gy in gys if gy is not None))
            gys = [xp.zeros(s, d) if gy is None else gy for gy, (s, d) in zip(gys, fn._out_meta)]
        if fn._retained:
            for i, t in fn._retained.items():
                _accumulate_leaf(t, gys[i], shared=True)
        gxs = fn.backward(*gys)
        if len(fn.inputs) == 1:
            gxs = (gxs,)
        if _anomaly_enabled:
            _anomaly_backward(fn, gys, gxs)
        for x, gx, need in zip(fn.inputs, gxs, fn.needs_input_grad):
            if not need or gx is None:
                continue
            if gx.shape != x.data.shape:
                raise RuntimeError(
                    f"{fn.op_name}.backward returned a gradient of shape {gx.shape} for an input "
                    f"of shape {x.data.shape}; a Function's backward must return one gradient "
                    "per input with the input's shape."
                )
            if gx.dtype != x.data.dtype:
                gx = gx.astype(x.data.dtype)
            creator = x._creator
            if creator is None:
                _accumulate_leaf(x, gx, shared=_may_alias(gx, gys))
            else:
                slots = creator._grads
                if slots is None:
                    slots = creator._grads = [None] * (
                        len(creator._out_meta) if creator._out_meta else 1
                    )
                prev = slots[x._index]
                # never in place: gx may alias an upstream gradient
                slots[x._index] = gx if prev is None else prev + gx
        _release(fn, retain_graph)


def _may_alias(g, gys) -> bool:
    if not is_array(g) or g.base is not None:
        return True
    return any(g is gy for gy in gys)


def _accumulate_leaf(t: Tensor, g, shared: bool) -> None:
    if t.grad is None:
        g = as_array(g)
        if shared or g.base is not None:
            g = g.copy()  # .grad must own its array: optimizers and users edit it in place
        if g.dtype != t.data.dtype:
            g = g.astype(t.data.dtype)
        t.grad = Tensor._wrap(g)
    else:
        t.grad.data += g


def _release(fn: Function, retain_graph: bool) -> None:
    fn._grads = None
    if not retain_graph:
        fn.saved = None
        fn.inputs = None
        fn._versions = ()
        fn._retained = None  # its tensors point back at fn


def _freed_message(who: str, fn: Function) -> str:
    return (
        f"{who}: the graph through {fn.op_name} was already freed by backward() (an earlier "
        "call). Pass retain_graph=True to that backward() to keep it, or recompute the forward "
        "pass."
    )


def graph_nodes(tensor: Tensor, *, who: str = "graph_nodes") -> list:
    """Every ``Function`` that ``tensor``'s value depends on, each after the nodes that made
    its inputs (the order the forward pass ran them; backward walks it reversed).

    The public walk of the graph, read-only: with ``Function.next_functions``, ``inputs``,
    ``output_shapes`` and ``name()`` it is all ``zerograd.viz.graph`` reads. Iterative, so a
    graph 20,000 ops deep is fine.

    Parameters
    ----------
    tensor : Tensor
        Usually a loss or a model's output; a leaf (or a tensor made without a graph) gives [].
    who : str, keyword only
        The name the error below starts with (a caller's own, e.g. ``"graph"``).

    Raises
    ------
    RuntimeError
        If ``backward()`` already freed the graph (call it with ``retain_graph=True`` to keep
        the graph for walking afterwards).

    Examples
    --------
    >>> import zerograd as zg
    >>> x = zg.ones(2, requires_grad=True)
    >>> y = (x * 2).exp().sum()
    >>> [fn.name() for fn in graph_nodes(y)]
    ['mul', 'exp', 'sum']
    >>> y.grad_fn.next_functions[0][0] is graph_nodes(y)[1]
    True
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{who}: expected a Tensor, got {type(tensor).__name__}.")
    root = tensor._creator
    return [] if root is None else _topological_order(root, who)[::-1]


def _topological_order(root: Function, who: str = "backward") -> list:
    """Nodes reachable from ``root``, each after every node that consumes its outputs.

    A graph already freed by backward() is an error naming ``who`` asked (``graph_nodes``
    returns the same order, reversed).
    """
    post = []
    seen = set()
    stack = [(root, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            post.append(fn)
            continue
        if fn in seen:
            continue
        seen.add(fn)
        if fn.inputs is None:
            raise RuntimeError(_freed_message(who, fn))
        stack.append((fn, True))
        for x in fn.inputs:
            if isinstance(x, Tensor):
                c = x._creator
                if c is not None and c not in seen:
                    stack.append((c, False))
    post.reverse()
    return post
