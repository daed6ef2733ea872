"""ONNX export: ``export(model, example_input, path)`` writes a zerograd model as an ONNX file that
onnxruntime (or any other ONNX runtime) runs.

The exporter walks the model's modules; it does not trace the autograd graph. A table maps each
layer class to a *converter*, a short function that appends the ONNX nodes and initializers of one
layer to the graph and returns the name of its output. ``Sequential`` chains its children; the
zoo's ``RowLSTM`` and ``CharLSTM``, whose forward is custom, have converters of their own; and
``register_converter`` teaches the exporter a module of yours. docs/onnx.md lists every supported
layer with the ONNX operators it becomes.

The ``onnx`` package is imported inside the functions that need it (zerograd's core depends on
NumPy alone): ``pip install "zerograd[onnx]"`` installs it together with onnxruntime.
"""

from __future__ import annotations

import math
import os

import numpy as np

from . import models, nn
from .autograd import Tensor, no_grad
from .functional._args import int_pair, normalize_dim
from .functional.conv import _padding as _conv_padding
from .io import atomic_write
from .nn.rnn import RNNBase

__all__ = [
    "IR_VERSION",
    "OPSET",
    "MIN_OPSET",
    "export",
    "register_converter",
    "check_with_onnxruntime",
    "OnnxGraph",
]

# The newest ONNX IR version and opset that the pinned onnxruntime 1.32.0 (the `onnx` extra in
# pyproject.toml) loads: it refuses IR 15 ("Unsupported model IR version: 15, max supported IR
# version: 14") and opset 29 ("Current official support for domain ai.onnx is till opset 28").
# onnx 1.23.2 happens to write the same pair by default, but a newer onnx writes newer ones, which
# that runtime refuses; writing them explicitly keeps every file loadable there.
IR_VERSION = 14
OPSET = 28
# The oldest opset the converters support (pass opset_version= for older runtimes): they give the
# axes of Squeeze, Unsqueeze and Slice as inputs, which ONNX takes from opset 13 on.
MIN_OPSET = 13

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


def register_converter(cls):
    """Decorator: use the decorated function to export modules of class ``cls`` (and of its
    subclasses that keep its ``forward``).

    The function is called as ``converter(g, module, x, example)``: ``g`` is the ``OnnxGraph``
    being built, ``x`` the name of the module's input in it and ``example`` the zerograd tensor
    that input holds for the example input (for its shape and dtype; at run time the batch size
    may differ). It appends nodes with ``g.op``, stores weights with ``g.initializer``, converts
    sub-modules with ``g.convert`` and returns the name of its output (a tuple of names, nested
    as the module's forward nests its tensors, for several outputs). Registering a class again
    replaces its converter.

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
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(
            f"register_converter: expected a Module subclass, e.g. "
            f"@register_converter(MyLayer), got {cls!r}."
        )

    def decorate(converter):
        if not callable(converter):
            raise TypeError(
                f"register_converter({cls.__name__}): decorate a function "
                f"converter(g, module, x, example), got {type(converter).__name__}."
            )
        _CONVERTERS[cls] = converter
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


# ---------------------------------------------------------------------------------------------
# converters: containers, linear, convolution, pooling, normalisation, shapes


@register_converter(nn.Sequential)
def _sequential(g, m, x, example):
    # _modules, not children(): a module listed twice runs twice, as in Sequential.forward
    for name, child in m._modules.items():
        x, example = g.convert(child, x, example, name=name)
    return x


@register_converter(nn.Identity)
@register_converter(nn.Dropout)
@register_converter(nn.Dropout2d)
def _identity(g, m, x, example):
    return x  # dropout does nothing in eval mode, which export uses


@register_converter(nn.Linear)
def _linear(g, m, x, example):
    W = g.initializer("weight", m.weight)
    b = g.initializer("bias", m.bias) if m.bias is not None else ""
    if example.ndim == 2:  # y = x W^T + b in one node
        return g.op("Gemm", x, W, b, transB=1)
    # (*, in) @ (in, out): MatMul broadcasts over the leading dims; W^T is folded at load time
    y = g.op("MatMul", x, g.op("Transpose", W, perm=[1, 0]))
    return g.op("Add", y, b) if b else y


@register_converter(nn.Conv2d)
def _conv2d(g, m, x, example):
    # zerograd's own rule for padding, so 'same' pads the odd extra row and column last too
    top, bottom, left, right = _conv_padding(
        "Conv2d", m.padding, m.stride, m.dilation, m.kernel_size
    )
    inputs = [x, g.initializer("weight", m.weight)]
    if m.bias is not None:
        inputs.append(g.initializer("bias", m.bias))
    return g.op(
        "Conv",
        *inputs,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        dilations=list(m.dilation),
        pads=[top, left, bottom, right],  # ONNX: the starts of H and W, then their ends
        group=m.groups,
    )


def _pool_attributes(who: str, m) -> dict:
    kernel = int_pair(who, "kernel_size", m.kernel_size, 1)
    stride = int_pair(who, "stride", m.stride, 1)
    ph, pw = int_pair(who, "padding", m.padding, 0)
    return {"kernel_shape": list(kernel), "strides": list(stride), "pads": [ph, pw, ph, pw]}


@register_converter(nn.MaxPool2d)
def _max_pool2d(g, m, x, example):
    # ONNX's MaxPool never picks a padded position, as zerograd's -inf padding never does
    return g.op("MaxPool", x, **_pool_attributes("MaxPool2d", m))


@register_converter(nn.AvgPool2d)
def _avg_pool2d(g, m, x, example):
    # count_include_pad=0 divides by the real pixels of each window, as zerograd does
    attributes = _pool_attributes("AvgPool2d", m)
    return g.op("AveragePool", x, count_include_pad=int(bool(m.count_include_pad)), **attributes)


@register_converter(nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool2d(g, m, x, example):
    H, W = example.shape[2:]
    sizes = m.output_size
    if isinstance(sizes, (tuple, list)):
        sizes = tuple(n if s is None else s for s, n in zip(sizes, (H, W)))  # None keeps a size
    OH, OW = int_pair("AdaptiveAvgPool2d", "output_size", sizes, 1)
    if (OH, OW) == (1, 1):  # global average pooling, for any H and W
        return g.op("GlobalAveragePool", x)
    if H % OH or W % OW:
        raise ValueError(
            f"zerograd.onnx.export: {g.where} {m!r} on an input of (H, W) = ({H}, {W}) needs "
            "uneven windows, which have no ONNX operator; use output sizes that divide H and W."
        )
    # even windows: a plain average pooling, its kernel fixed by the example's H and W
    kernel = [H // OH, W // OW]
    return g.op("AveragePool", x, kernel_shape=kernel, strides=kernel)


@register_converter(nn.BatchNorm1d)
@register_converter(nn.BatchNorm2d)
def _batch_norm(g, m, x, example):
    if m.running_mean is None:
        raise ValueError(
            f"zerograd.onnx.export: {g.where} {m!r} keeps no running statistics, so in eval mode "
            "it normalises with each batch's own mean and variance, which ONNX's "
            "BatchNormalization does not do. Train it with track_running_stats=True."
        )
    C, dtype = m.num_features, m.running_mean.dtype
    weight = m.weight if m.weight is not None else np.ones(C, dtype)  # affine=False: 1 and 0
    bias = m.bias if m.bias is not None else np.zeros(C, dtype)
    return g.op(
        "BatchNormalization",  # (N, C), (N, C, L) and (N, C, H, W) alike, per channel C
        x,
        g.initializer("weight", weight),
        g.initializer("bias", bias),
        g.initializer("running_mean", m.running_mean),
        g.initializer("running_var", m.running_var),
        epsilon=float(m.eps),
    )


@register_converter(nn.Flatten)
def _flatten(g, m, x, example):
    if example.ndim == 0:
        return g.op("Reshape", x, g.constant([1]))
    start = normalize_dim("Flatten", m.start_dim, example.ndim)
    end = normalize_dim("Flatten", m.end_dim, example.ndim)
    if start == end:
        return x
    # Reshape's 0 copies a leading dim (the batch stays symbolic), -1 is the merged size; the
    # dims after end_dim keep the example's sizes
    shape = [0] * start + [-1] + list(example.shape[end + 1 :])
    return g.op("Reshape", x, g.constant(shape))


@register_converter(nn.Embedding)
def _embedding(g, m, x, example):
    return g.op("Gather", g.initializer("weight", m.weight), x, axis=0)  # weight[ids]


# ---------------------------------------------------------------------------------------------
# converters: activations


@register_converter(nn.Step)
def _step(g, m, x, example):
    positive = g.op("Greater", x, g.constant(0, example.dtype))  # 1 where x > 0, else 0
    return g.op("Cast", positive, to=_elem_type(example.dtype))


@register_converter(nn.Sigmoid)
def _sigmoid(g, m, x, example):
    return g.op("Sigmoid", x)


@register_converter(nn.Tanh)
def _tanh(g, m, x, example):
    return g.op("Tanh", x)


@register_converter(nn.ReLU)
def _relu(g, m, x, example):
    return g.op("Relu", x)


@register_converter(nn.LeakyReLU)
def _leaky_relu(g, m, x, example):
    return g.op("LeakyRelu", x, alpha=float(m.negative_slope))


@register_converter(nn.ELU)
def _elu(g, m, x, example):
    return g.op("Elu", x, alpha=float(m.alpha))


@register_converter(nn.GELU)
def _gelu(g, m, x, example):
    if g.opset_version >= 20:  # Gelu is an ONNX operator from opset 20 on
        return g.op("Gelu", x, approximate=m.approximate)
    dtype = example.dtype
    if m.approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Add", x, g.op("Mul", x3, g.constant(0.044715, dtype)))
        inner = g.op("Mul", inner, g.constant(math.sqrt(2 / math.pi), dtype))
        phi = g.op("Tanh", inner)
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        phi = g.op("Erf", g.op("Div", x, g.constant(math.sqrt(2.0), dtype)))
    y = g.op("Mul", x, g.op("Add", phi, g.constant(1.0, dtype)))
    return g.op("Mul", y, g.constant(0.5, dtype))


@register_converter(nn.Softplus)
def _softplus(g, m, x, example):
    # ONNX's Softplus is log(1 + exp(z)) without beta: y = Softplus(beta x) / beta, and x itself
    # where beta x > threshold (PyTorch's rule, which zerograd follows)
    dtype, beta = example.dtype, float(m.beta)
    z = x if beta == 1 else g.op("Mul", x, g.constant(beta, dtype))
    y = g.op("Softplus", z)
    if beta != 1:
        y = g.op("Div", y, g.constant(beta, dtype))
    above = g.op("Greater", z, g.constant(float(m.threshold), dtype))
    return g.op("Where", above, x, y)


@register_converter(nn.Softmax)
def _softmax(g, m, x, example):
    return g.op("Softmax", x, axis=normalize_dim("Softmax", m.dim, example.ndim))


@register_converter(nn.LogSoftmax)
def _log_softmax(g, m, x, example):
    return g.op("LogSoftmax", x, axis=normalize_dim("LogSoftmax", m.dim, example.ndim))


# ---------------------------------------------------------------------------------------------
# converters: recurrent layers


def _reorder_gates(a, order: list):
    """The row blocks of a stacked gate weight (or bias) put in ONNX's order."""
    blocks = np.split(np.asarray(a), len(order), axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def _recurrent_weights(m, k: int, order: list) -> tuple:
    """ONNX's W (D, G*H, H_in), R (D, G*H, H) and B (D, 2*G*H) (None without bias) of layer k,
    from zerograd's (PyTorch's) weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}."""
    suffixes = ("", "_reverse") if m.bidirectional else ("",)
    W, R, B = [], [], []
    for suffix in suffixes:
        W.append(_reorder_gates(getattr(m, f"weight_ih_l{k}{suffix}").data, order))
        R.append(_reorder_gates(getattr(m, f"weight_hh_l{k}{suffix}").data, order))
        if m.bias:  # ONNX's B is the input biases then the recurrent ones, [Wb, Rb]
            b_ih = _reorder_gates(getattr(m, f"bias_ih_l{k}{suffix}").data, order)
            b_hh = _reorder_gates(getattr(m, f"bias_hh_l{k}{suffix}").data, order)
            B.append(np.concatenate([b_ih, b_hh]))
    return np.stack(W), np.stack(R), (np.stack(B) if B else None)


def _recurrent_op(m) -> tuple:
    """(ONNX operator, gate order, extra attributes) of an RNN, LSTM or GRU."""
    D = 2 if m.bidirectional else 1
    if isinstance(m, nn.LSTM):
        return "LSTM", [0, 3, 1, 2], {}  # PyTorch's gates i, f, g, o -> ONNX's i, o, f, c
    if isinstance(m, nn.GRU):
        # PyTorch's r, z, n -> ONNX's z, r, h; linear_before_reset=1 is PyTorch's form of the
        # new gate, r * (h W_hn^T + b_hn) (the default 0 would multiply h by r first)
        return "GRU", [1, 0, 2], {"linear_before_reset": 1}
    activation = "Relu" if m.nonlinearity == "relu" else "Tanh"
    return "RNN", [0], {"activations": [activation] * D}  # one per direction


@register_converter(nn.RNN)
@register_converter(nn.LSTM)
@register_converter(nn.GRU)
def _recurrent(g, m, x, example, h0=None, c0=None):
    """One ONNX RNN/LSTM/GRU node per layer, both directions in it; between layers the output
    (L, D, N, H) becomes the next layer's input (L, N, D*H). Returns the names of
    (output, h_n), or (output, (h_n, c_n)) for an LSTM, laid out as zerograd returns them."""
    op, order, attributes = _recurrent_op(m)
    D, H, batched = (2 if m.bidirectional else 1), m.hidden_size, example.ndim == 3
    states = [s for s in (h0, c0) if s is not None]
    if not batched:  # one sequence (L, H_in) is a batch of one: (L, 1, H_in)
        x = g.op("Unsqueeze", x, g.constant([1]))
        states = [g.op("Unsqueeze", s, g.constant([1])) for s in states]  # (D*layers, 1, H)
    elif m.batch_first:
        x = g.op("Transpose", x, perm=[1, 0, 2])  # (N, L, H_in) -> (L, N, H_in), ONNX's layout
    finals = []  # per layer: [Y_h] or [Y_h, Y_c], each (D, N, H)
    for k in range(m.num_layers):
        W, R, B = _recurrent_weights(m, k, order)
        inputs = [x, g.initializer(f"W_l{k}", W), g.initializer(f"R_l{k}", R)]
        inputs.append(g.initializer(f"B_l{k}", B) if B is not None else "")
        if states:  # no sequence_lens (""), then this layer's rows of each initial state
            inputs.append("")
            for s in states:
                if m.num_layers > 1:
                    rows = (g.constant([k * D]), g.constant([(k + 1) * D]), g.constant([0]))
                    s = g.op("Slice", s, *rows)
                inputs.append(s)
        Y, *final = g.op(
            op,
            *inputs,
            outputs=3 if op == "LSTM" else 2,
            hidden_size=H,
            direction="bidirectional" if D == 2 else "forward",
            **attributes,
        )
        finals.append(final)
        if D == 1:
            x = g.op("Squeeze", Y, g.constant([1]))  # (L, 1, N, H) -> (L, N, H)
        else:  # (L, 2, N, H) -> (L, N, 2, H) -> (L, N, 2H): forward then backward, as zerograd
            x = g.op("Transpose", Y, perm=[0, 2, 1, 3])
            x = g.op("Reshape", x, g.constant([0, 0, -1]))
    # h_n (and c_n): the layers' finals stacked, (D*num_layers, N, H)
    outs = [
        g.op("Concat", *[f[i] for f in finals], axis=0) if m.num_layers > 1 else finals[0][i]
        for i in range(len(finals[0]))
    ]
    if not batched:
        x = g.op("Squeeze", x, g.constant([1]))
        outs = [g.op("Squeeze", s, g.constant([1])) for s in outs]
    elif m.batch_first:
        x = g.op("Transpose", x, perm=[1, 0, 2])  # h_n stays (D*num_layers, N, H)
    return (x, (outs[0], outs[1])) if op == "LSTM" else (x, outs[0])


# ---------------------------------------------------------------------------------------------
# converters: the zoo models whose forward is their own


@register_converter(models.RowLSTM)
def _row_lstm(g, m, x, example):
    """(N, 1, L, W) images (or (N, L, W)) -> LSTM over the rows -> last step -> Linear."""
    if example.ndim == 4:  # (N, 1, L, W) -> (N, L, W), as RowLSTM's reshape
        x = g.op("Squeeze", x, g.constant([1]))
        example = example.reshape(example.shape[0], example.shape[2], example.shape[3])
    (out, _), (out_example, _) = g.convert(m.lstm, x, example, name="lstm")
    last = g.op("Gather", out, g.constant(-1), axis=1)  # out[:, -1]: (N, L, H) -> (N, H)
    y, _ = g.convert(m.head, last, out_example[:, -1], name="head")
    return y


@register_converter(models.CharLSTM)
def _char_lstm(g, m, x, example, h0=None, c0=None):
    """ids (N, L) -> Embedding -> LSTM -> Linear: (logits (N, L, V), (h_n, c_n))."""
    e, e_example = g.convert(m.embedding, x, example, name="embedding")
    states = [s for s in (h0, c0) if s is not None]
    (out, state), (out_example, _) = g.convert(m.lstm, e, e_example, *states, name="lstm")
    logits, _ = g.convert(m.head, out, out_example, name="head")
    return logits, state


# ---------------------------------------------------------------------------------------------
# export


def _elem_type(dtype) -> int:
    return _import_onnx().helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _flatten(tree) -> list:
    """The tensors (or names) of a nest of tuples and lists, in order; None is skipped."""
    if tree is None:
        return []
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _flatten(item)]
    return [tree]


def _unflatten(tree, leaves: list):
    """``tree`` with its leaves replaced, in order, by ``leaves`` (consumed from the front)."""
    if tree is None:
        return None
    if isinstance(tree, (tuple, list)):
        return tuple(_unflatten(item, leaves) for item in tree)
    return leaves.pop(0)


def _forward_args(example_input) -> tuple:
    """The example as the arguments of ``model(...)``, every array a Tensor: one tensor, or a
    tuple of arguments such as ``(ids, (h_0, c_0))``."""
    args = example_input if isinstance(example_input, tuple) else (example_input,)

    def as_tensor(a):
        if isinstance(a, Tensor):
            return a.detach()
        if isinstance(a, np.ndarray):
            return Tensor(a)
        raise TypeError(
            f"zerograd.onnx.export: example_input must be a Tensor or NumPy array (or a tuple "
            f"of them, the forward's arguments), got {type(a).__name__}."
        )

    return _unflatten(args, [as_tensor(a) for a in _flatten(args)])


def _input_axes(model, inputs: list) -> list:
    """The symbolic dims of each graph input, ``{axis: name}``: the batch dim ("batch") and, for
    a sequence model, the time dim ("time"). The layer that reads the input decides: an RNN,
    LSTM or GRU (first in the model), RowLSTM or CharLSTM; anything else has its batch first."""
    first = model
    while isinstance(first, nn.Sequential) and len(first) > 0:
        first = first[0]
    x, states = inputs[0], len(inputs) - 1
    if isinstance(first, RNNBase):
        if x.ndim == 2:  # one sequence (L, H_in), its state (D*num_layers, H)
            return [{0: "time"}] + [{}] * states
        x_axes = {0: "batch", 1: "time"} if first.batch_first else {0: "time", 1: "batch"}
        return [x_axes] + [{1: "batch"}] * states  # the state is (D*num_layers, N, H)
    if isinstance(first, models.RowLSTM):
        return [{0: "batch", x.ndim - 2: "time"}]  # (N, 1, L, W) or (N, L, W)
    if isinstance(first, models.CharLSTM):
        if x.ndim == 1:
            return [{0: "time"}] + [{}] * states
        return [{0: "batch", 1: "time"}] + [{1: "batch"}] * states
    return [{0: "batch"} if t.ndim else {} for t in inputs]


def _grow(t: Tensor, axes: list) -> Tensor:
    """``t`` one longer along each of ``axes``, its first slice repeated (ids stay valid)."""
    a = t.data
    for axis in axes:
        a = np.concatenate([a, np.take(a, [0], axis=axis)], axis=axis)
    return Tensor(a)


def _output_shapes(model, args, inputs, input_axes, outputs) -> list:
    """The shape of each output, a symbolic dim's name where it follows a symbolic input dim.

    For each symbolic name (batch, time) the model runs again on inputs one longer along the
    dims of that name: an output dim that grows by one takes the name; one that grows by more
    (the batch merged with other dims by a Flatten) becomes an unnamed symbolic dim (None)."""
    shapes = [list(o.shape) for o in outputs]
    for dim_name in sorted({n for axes in input_axes for n in axes.values()}):
        grown = [
            _grow(t, [a for a, n in axes.items() if n == dim_name])
            for t, axes in zip(inputs, input_axes)
        ]
        try:
            new = _flatten(model(*_unflatten(args, grown)))
        except (ValueError, TypeError, IndexError, RuntimeError) as e:
            raise ValueError(
                f"zerograd.onnx.export: {type(model).__name__} runs on the example input but not "
                f"on one with its {dim_name} dim one longer ({e}), so that dim cannot be "
                "symbolic in the file; pass dynamic_batch=False for fixed sizes."
            ) from e
        for shape, old, o in zip(shapes, outputs, new):
            for i, (a, b) in enumerate(zip(old.shape, o.shape)):
                if a != b:
                    shape[i] = dim_name if b == a + 1 and isinstance(shape[i], int) else None
    return shapes


def _names(kind: str, given, defaults: list, count: int) -> list:
    """The graph's input or output names: ``given`` (checked) or the defaults."""
    if given is None:
        return defaults[:count] if count <= len(defaults) else [f"{kind}_{i}" for i in range(count)]
    names = [given] if isinstance(given, str) else list(given)
    if len(names) != count or not all(isinstance(n, str) and n for n in names):
        raise ValueError(
            f"zerograd.onnx.export: {kind}_names must be {count} non-empty string(s), one per "
            f"{kind} tensor of the model, got {given!r}."
        )
    return names


def _name_outputs(g: OnnxGraph, internal: list, public: list) -> None:
    """Give the graph's outputs their public names: rename the node output where that is
    possible, else (a graph input passed through, an output listed twice) add an Identity."""
    produced = {out for node in g.nodes for out in node.output}
    renamed = {}
    for old, new in zip(internal, public):
        if old in produced and old not in renamed:
            for node in g.nodes:
                node.input[:] = [new if n == old else n for n in node.input]
                node.output[:] = [new if n == old else n for n in node.output]
            renamed[old] = new
        else:
            source = renamed.get(old, old)
            g.nodes.append(g._onnx.helper.make_node("Identity", [source], [new], name=new))


def _check_dtypes(model, inputs: list) -> None:
    floats = {str(t.dtype) for t in [*model.parameters(), *model.buffers()] if t.dtype.kind == "f"}
    if floats - {"float32"}:
        raise TypeError(
            f"zerograd.onnx.export: the model holds {', '.join(sorted(floats))} parameters; the "
            "exporter writes float32. Convert it first with model.to('float32')."
        )
    for i, t in enumerate(inputs):
        if t.dtype.kind == "f" and t.dtype != np.float32:
            raise TypeError(
                f"zerograd.onnx.export: example input {i} is {t.dtype}; the exporter writes "
                "float32 models, so pass float32 inputs, e.g. x.to('float32')."
            )


def _check_path(path) -> str:
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"zerograd.onnx.export: cannot write {path}: the folder {folder} does not exist. "
            "Create it first (os.makedirs) or choose another path."
        )
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"zerograd.onnx.export: {path} is a folder; give a file name, e.g. "
            f"{os.path.join(path, 'model.onnx')}."
        )
    return path


def export(
    model,
    example_input,
    path,
    dynamic_batch: bool = True,
    *,
    input_names=None,
    output_names=None,
    opset_version: int = OPSET,
):
    """Write ``model`` as an ONNX file at ``path`` and return the ``onnx.ModelProto`` written.

    The model runs once on ``example_input`` (in eval mode, without recording a graph; each
    module's training flag is restored afterwards), so an input it cannot take fails here with
    the model's own error. Then its modules are walked and each becomes ONNX nodes through its
    converter; parameters and running statistics become initializers, in the dtype the model
    holds them (float32). The result passes ``onnx.checker.check_model(full_check=True)`` and is
    written atomically (whole or not at all) with IR version ``IR_VERSION`` and opset ``OPSET``.

    Parameters
    ----------
    model : Module
        Supported layers (in an ``nn.Sequential`` or alone), a zoo model, or a module with a
        converter registered by ``register_converter``. docs/onnx.md has the list.
    example_input : Tensor or ndarray, or a tuple of them
        What ``model(...)`` takes: e.g. images (N, 1, 28, 28), character ids (N, L) (int64), or
        the forward's arguments as a tuple, ``(x, (h_0, c_0))`` for an LSTM started from a given
        state (then h_0 and c_0 become inputs of the file too).
    path : str or os.PathLike
        The file to write; its folder must exist.
    dynamic_batch : bool
        Make the batch dim symbolic (named "batch") so the file runs on any batch size, and the
        time dim (named "time") too for sequence models (RNN, LSTM, GRU, RowLSTM, CharLSTM).
        False fixes every size to the example's.
    input_names, output_names : list of str, optional
        The names of the file's inputs and outputs. Default: "input" (then "h_0", "c_0" for
        initial states) and "output" (then "h_n", "c_n" for the final states).
    opset_version : int
        The ONNX opset, ``MIN_OPSET`` to ``OPSET`` (the default, the newest the pinned
        onnxruntime runs); an older opset writes the oldest IR version that opset allows, for
        older runtimes.

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    ImportError
        When the onnx package is not installed (``pip install "zerograd[onnx]"``).
    FileNotFoundError
        When the folder of ``path`` does not exist (nothing is written).
    TypeError
        For a module with no converter (naming its path in the model, e.g. ``model.3``), or
        float64 parameters or inputs.
    ValueError
        For an unsupported configuration (e.g. BatchNorm without running statistics), bad names
        or opset; the model's own error for an input it cannot take.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd import nn, onnx
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    >>> proto = onnx.export(model, zg.randn(2, 1, 28, 28), "mlp.onnx")  # doctest: +SKIP
    >>> dims = proto.graph.input[0].type.tensor_type.shape.dim  # doctest: +SKIP
    >>> [d.dim_param or d.dim_value for d in dims]  # doctest: +SKIP
    ['batch', 1, 28, 28]
    """
    onnx = _import_onnx()
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"zerograd.onnx.export: model must be a zerograd nn.Module, got {type(model).__name__}."
        )
    if isinstance(opset_version, bool) or opset_version not in range(MIN_OPSET, OPSET + 1):
        raise ValueError(
            f"zerograd.onnx.export: opset_version must be an int from {MIN_OPSET} to {OPSET} "
            f"(the newest the pinned onnxruntime runs), got {opset_version!r}."
        )
    path = _check_path(path)
    args = _forward_args(example_input)
    inputs = _flatten(args)
    _check_dtypes(model, inputs)
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            outputs = _flatten(model(*args))  # the model's own errors reach the user unchanged
            in_names = _names("input", input_names, ["input", "h_0", "c_0"], len(inputs))
            out_names = _names("output", output_names, ["output", "h_n", "c_n"], len(outputs))
            if len(set(in_names + out_names)) < len(in_names) + len(out_names):
                raise ValueError(
                    f"zerograd.onnx.export: the input names {in_names} and output names "
                    f"{out_names} must all differ."
                )
            axes = _input_axes(model, inputs) if dynamic_batch else [{} for _ in inputs]
            out_shapes = _output_shapes(model, args, inputs, axes, outputs)
            g = OnnxGraph(opset_version, reserved_names=in_names + out_names)
            result, _ = g.convert(model, in_names[0], inputs[0], *in_names[1:])
    finally:
        for m, training in flags:
            m.training = training
    internal = _flatten(result)
    if len(internal) != len(outputs):
        raise RuntimeError(
            f"zerograd.onnx.export: the converter of {type(model).__name__} returned "
            f"{len(internal)} output(s) but the model returns {len(outputs)}; fix the converter."
        )
    _name_outputs(g, internal, out_names)

    helper = onnx.helper
    graph_inputs = [
        helper.make_tensor_value_info(
            name, _elem_type(t.dtype), [ax.get(i, n) for i, n in enumerate(t.shape)]
        )
        for name, t, ax in zip(in_names, inputs, axes)
    ]
    graph_outputs = [
        helper.make_tensor_value_info(name, _elem_type(o.dtype), shape)
        for name, o, shape in zip(out_names, outputs, out_shapes)
    ]
    graph = helper.make_graph(
        g.nodes, type(model).__name__, graph_inputs, graph_outputs, initializer=g.initializers
    )
    opset = helper.make_opsetid("", opset_version)
    if opset_version == OPSET:
        ir_version = IR_VERSION
    else:  # the oldest IR version the opset allows, so older runtimes load the file
        ir_version = helper.find_min_ir_version_for([opset])
    from ._version import __version__

    proto = helper.make_model(
        graph,
        opset_imports=[opset],
        ir_version=ir_version,
        producer_name="zerograd",
        producer_version=__version__,
    )
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise RuntimeError(
            f"zerograd.onnx.export: the ONNX graph built for {type(model).__name__} fails "
            f"onnx.checker: {e}. A converter is wrong (a registered one of yours?); nothing was "
            "written."
        ) from e
    with atomic_write(path) as f:
        f.write(proto.SerializeToString())
    return proto


def check_with_onnxruntime(path, model, example_input, rtol: float = 1e-5, atol: float = 1e-5):
    """Run the ONNX file at ``path`` in onnxruntime on ``example_input`` and compare its outputs
    with ``model``'s (in eval mode); return the largest absolute difference.

    ``example_input`` is what ``export`` takes (the file's inputs in order). Outputs match when
    ``|onnx - zerograd| <= atol + rtol * |zerograd|`` everywhere.

    Raises
    ------
    ImportError
        When onnxruntime is not installed (``pip install "zerograd[onnx]"``).
    RuntimeError
        When an output differs beyond the tolerance (naming it and the difference).
    """
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(
            f"check_with_onnxruntime needs onnxruntime, which is not installed: {_INSTALL}."
        ) from None
    args = _forward_args(example_input)
    inputs = _flatten(args)
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            expected = [t.data for t in _flatten(model(*args))]
    finally:
        for m, training in flags:
            m.training = training
    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    feed = {i.name: t.data for i, t in zip(session.get_inputs(), inputs)}
    got = session.run(None, feed)
    worst = 0.0
    for meta, a, b in zip(session.get_outputs(), got, expected):
        if a.shape != b.shape:
            raise RuntimeError(
                f"check_with_onnxruntime: output {meta.name!r} of {path} has shape {a.shape} in "
                f"onnxruntime but {b.shape} in zerograd."
            )
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        if not np.allclose(a, b, rtol=rtol, atol=atol):
            raise RuntimeError(
                f"check_with_onnxruntime: output {meta.name!r} of {path} differs from zerograd's "
                f"by up to {diff:.3g} (allowed: {atol} + {rtol} * |zerograd|)."
            )
        worst = max(worst, diff)
    return worst
