"""``Function`` (one differentiable op, a node of the graph when it records) and the engine
that runs backward over the graph.

Define-by-run, as in PyTorch: every ``Function`` call on tensors that require grad records a node
(the function object, its inputs and what it saved for backward). ``Tensor.backward()`` sorts the
nodes reachable from the output once, in reverse topological order, without recursion (a graph
20,000 ops deep is fine), and walks them calling each node's ``backward``. Gradients accumulate into
leaves' ``.grad``; the graph and its saved arrays are freed after use unless ``retain_graph=True``.
Each node remembers the versions of the tensors it saved, and backward refuses to run on
modified data. Anomaly mode hooks in at two points, only while it is on (``anomaly.py``).
"""

from __future__ import annotations

from .. import backend
from ..backend import as_array, is_array
from . import anomaly, grad_mode
from .graph import _freed_message, _topological_order
from .tensor import Tensor

__all__ = ["Function"]


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
        if anomaly._anomaly_enabled:
            anomaly._anomaly_forward(self, arrays, y)

        record = False
        if grad_mode._grad_enabled:
            for x in inputs:
                if isinstance(x, Tensor) and x.requires_grad:
                    record = True
                    break
        if not record:
            self.saved = None
            if type(y) is tuple:
                return tuple(Tensor.wrap(as_array(o)) for o in y)
            if not is_array(y):
                y = as_array(y)
            view_of = inputs[0] if self.view and isinstance(inputs[0], Tensor) else None
            return Tensor.wrap(y, vbox=None if view_of is None else view_of._vbox)

        self.inputs = inputs
        self.needs_input_grad = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        self._grads = None
        self._retained = None
        if type(y) is tuple:
            outs = tuple(Tensor.wrap(as_array(o), self, i) for i, o in enumerate(y))
            self._out_meta = [(o.shape, o.dtype) for o in outs]
        else:
            if not is_array(y):
                y = as_array(y)
            vbox = inputs[0]._vbox if self.view and isinstance(inputs[0], Tensor) else None
            outs = (Tensor.wrap(y, self, 0, vbox),)
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


def _tensor_backward(self: Tensor, grad=None, retain_graph: bool = False) -> None:
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


# the one place a Tensor meets the engine (as zerograd.functional binds the operators)
_tensor_backward.__name__ = _tensor_backward.__qualname__ = "backward"
Tensor.backward = _tensor_backward


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
        if anomaly._anomaly_enabled:
            anomaly._anomaly_backward(fn, gys, gxs)
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
        t.grad = Tensor.wrap(g)
    else:
        t.grad.data += g


def _release(fn: Function, retain_graph: bool) -> None:
    fn._grads = None
    if not retain_graph:
        fn.saved = None
        fn.inputs = None
        fn._versions = ()
        fn._retained = None  # its tensors point back at fn
