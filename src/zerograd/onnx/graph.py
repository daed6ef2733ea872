"""The converter table and the ONNX graph an export builds.

``register_converter(cls)`` teaches the exporter a module class: its converter appends the ONNX
nodes of one module to an ``OnnxGraph`` and returns the name of its output. nn's layers register
theirs in ``layers.py``, the zoo's models in ``zerograd/models/onnx_converters.py``, users' own
layers wherever they are defined: the exporter itself knows no module class.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..nn import Module

__all__ = ["register_converter", "OnnxGraph"]

_INSTALL = 'pip install "zerograd[onnx]"'


def _import_onnx():
    """The onnx package, or an ImportError saying how to install it."""
    try:
        import onnx  # the PyPI package (absolute import), not this module
    except ImportError:
        raise ImportError(
            f"zerograd.onnx needs the onnx package, which is not installed: {_INSTALL} "
            "(it brings onnx and onnxruntime)."
        ) from None
    return onnx


# ---------------------------------------------------------------------------------------------
# the converter table


_CONVERTERS: dict = {}  # module class -> converter(g, module, x, example, *extra_inputs)
_INPUT_AXES: dict = {}  # module class -> input_axes(module, inputs), for models that read inputs


def register_converter(cls, *, input_axes=None):
    """Decorator: use the decorated function to export modules of class ``cls`` (and of its
    subclasses that keep its ``forward``).

    The function is called as ``converter(g, module, x, example)``: ``g`` is the ``OnnxGraph``
    being built, ``x`` the name of the module's input in it and ``example`` the zerograd tensor
    that input holds for the example input (for its shape and dtype; at run time the batch size
    may differ). It appends nodes with ``g.op``, stores weights with ``g.initializer``, converts
    sub-modules with ``g.convert`` and returns the name of its output (a tuple of names, nested
    as the module's forward nests its tensors, for several outputs). Registering a class again
    replaces its converter.

    ``input_axes`` (keyword only) says which dims of the file's inputs are symbolic when a
    module of ``cls`` reads the model's input (first in it): called as
    ``input_axes(module, inputs)`` with the example's input tensors, it returns one
    ``{axis: name}`` dict per input, e.g. ``[{0: "batch", 1: "time"}]`` for a sequence model.
    Without it, dim 0 is the batch ("batch") and the other dims keep the example's sizes.

    Examples
    --------
    >>> from zerograd import nn
    >>> class Scale(nn.Module):
    ...     def __init__(self, s):
    ...         super().__init__()
    ...         self.s = s
    ...     def forward(self, x):
    ...         return x * self.s
    >>> @register_converter(Scale)
    ... def convert_scale(g, module, x, example):
    ...     return g.op("Mul", x, g.constant(module.s, example.dtype))
    >>> convert_scale.__name__  # the function itself comes back
    'convert_scale'
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(
            f"register_converter: expected a Module subclass, e.g. "
            f"@register_converter(MyLayer), got {cls!r}."
        )

    if input_axes is not None and not callable(input_axes):
        raise TypeError(
            f"register_converter({cls.__name__}): input_axes must be a function "
            f"input_axes(module, inputs), got {type(input_axes).__name__}."
        )

    def decorate(converter):
        if not callable(converter):
            raise TypeError(
                f"register_converter({cls.__name__}): decorate a function "
                f"converter(g, module, x, example), got {type(converter).__name__}."
            )
        _CONVERTERS[cls] = converter
        if input_axes is None:
            _INPUT_AXES.pop(cls, None)
        else:
            _INPUT_AXES[cls] = input_axes
        return converter

    return decorate


def _converter_for(module, where: str):
    """The converter of ``module``'s class, or of the nearest parent class when the subclasses in
    between keep that parent's forward (the zoo's MLP is a Sequential with no forward of its
    own); a TypeError naming the module when there is none."""
    for cls in type(module).__mro__:
        if cls in _CONVERTERS:
            return _CONVERTERS[cls]
        if "forward" in vars(cls):
            break  # a forward of its own: a parent's converter would export something else
    supported = ", ".join(sorted({cls.__name__ for cls in _CONVERTERS}))
    parent = next((c for c in type(module).__mro__[1:] if c in _CONVERTERS), None)
    note = f" (it subclasses {parent.__name__} but has a forward of its own)" if parent else ""
    name = type(module).__name__
    raise TypeError(
        f"zerograd.onnx.export: {where} is a {name}, which has no ONNX converter{note}. "
        f"Supported: {supported}. Build the model from these layers in an nn.Sequential, or "
        f"teach the exporter your layer with @zerograd.onnx.register_converter({name}) "
        "(see docs/onnx.md)."
    )


def _input_axes_for(module):
    """The ``input_axes`` registered for ``module``'s class or a parent class, or None."""
    for cls in type(module).__mro__:
        if cls in _INPUT_AXES:
            return _INPUT_AXES[cls]
    return None


def _elem_type(dtype) -> int:
    """ONNX's element type number of a NumPy dtype."""
    return _import_onnx().helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# ---------------------------------------------------------------------------------------------
# the graph being built


class OnnxGraph:
    """The ONNX graph an export builds: the nodes and initializers the converters add.

    - ``g.op(op_type, *inputs, outputs=1, **attributes)`` appends a node and returns the name of
      its output (a list of names when ``outputs`` > 1); ``""`` stands for a skipped optional
      input.
    - ``g.initializer(name, array)`` stores a weight in the file under the module's path
      (``"3.weight"``, the state_dict key) and returns its name in the graph.
    - ``g.constant(values, dtype)`` stores a small constant (axes, shapes, scalars).
    - ``g.convert(module, x, example, *extra, name=...)`` exports a sub-module (its attribute
      ``name``): returns ``(its output names, module(example))``.
    - ``g.opset_version`` is the opset being written; ``g.where`` the current module's path
      (``model.3``) for error messages.
    """

    def __init__(self, opset_version: int, reserved_names=()):
        self.opset_version = opset_version
        self.nodes: list = []
        self.initializers: list = []
        self._onnx = _import_onnx()
        self._names = set(reserved_names)
        self._constants: dict = {}  # (dtype, shape, values) -> name: each constant stored once
        self._path: list = []  # the attribute names from the model down to the current module

    @property
    def where(self) -> str:
        return ".".join(["model", *self._path])

    def _fresh(self, hint: str) -> str:
        """``hint``, or ``hint_2``, ``hint_3`` ... : a name no other value in the graph has."""
        name, i = hint, 1
        while name in self._names:
            i += 1
            name = f"{hint}_{i}"
        self._names.add(name)
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attributes):
        """Append an ``op_type`` node reading ``inputs``; return its output name(s)."""
        inputs = list(inputs)
        while inputs and inputs[-1] == "":  # trailing optional inputs are simply left out
            inputs.pop()
        name = self._fresh(".".join([*self._path, op_type]))
        names = [name] if outputs == 1 else [f"{name}:{i}" for i in range(outputs)]
        self._names.update(names)
        self.nodes.append(
            self._onnx.helper.make_node(op_type, inputs, names, name=name, **attributes)
        )
        return names[0] if outputs == 1 else names

    def initializer(self, name: str, value) -> str:
        """Store ``value`` (a Tensor or array, kept in its dtype) as ``<module path>.<name>``."""
        array = value.data if isinstance(value, Tensor) else value
        full = self._fresh(".".join([*self._path, name]))
        tensor = self._onnx.numpy_helper.from_array(np.asarray(array, order="C"), full)
        self.initializers.append(tensor)
        return full

    def constant(self, values, dtype=np.int64) -> str:
        """Store ``values`` (a number or a list) as a constant of ``dtype`` (int64 by default);
        the same constant asked for twice is stored once."""
        array = np.asarray(values, dtype=dtype)
        key = (array.dtype.str, array.shape, tuple(array.ravel().tolist()))
        if key not in self._constants:
            self._constants[key] = self.initializer("const", array)
        return self._constants[key]

    def convert(self, module, x: str, example, *extra: str, name: str | None = None):
        """Export ``module`` (the sub-module at attribute ``name``) reading ``x``, which holds
        ``example`` for the example input; ``extra`` are further inputs (an RNN's initial state).
        Returns ``(output names, module(example))``, the second for the shapes of what follows."""
        if name is not None:
            self._path.append(name)
        try:
            converter = _converter_for(module, self.where)
            out = converter(self, module, x, example, *extra)
        finally:
            if name is not None:
                self._path.pop()
        return out, module(example)
