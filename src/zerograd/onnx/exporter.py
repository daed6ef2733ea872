"""``export(model, example_input, path)``: the walk over a model's modules, the file's inputs and
outputs with their symbolic dims, the checks, the atomic write; and ``check_with_onnxruntime``.
"""

from __future__ import annotations

import os

import numpy as np

from ..autograd import Tensor, no_grad
from ..io import atomic_write
from ..nn import Module, Sequential
from .graph import _INSTALL, OnnxGraph, _elem_type, _import_onnx, _input_axes_for

__all__ = ["IR_VERSION", "OPSET", "MIN_OPSET", "export", "check_with_onnxruntime"]

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


def _leaves(tree) -> list:
    """The tensors (or names) of a nest of tuples and lists, in order; None is skipped."""
    if tree is None:
        return []
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
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

    return _unflatten(args, [as_tensor(a) for a in _leaves(args)])


def _input_axes(model, inputs: list) -> list:
    """The symbolic dims of each graph input, ``{axis: name}``: the batch dim ("batch") and, for
    a sequence model, the time dim ("time"). The module that reads the input (the model, or the
    first of its Sequential) decides through the ``input_axes`` registered with its converter
    (RNN, LSTM, GRU, the zoo's RowLSTM and CharLSTM); without one, the batch is dim 0."""
    first = model
    while isinstance(first, Sequential) and len(first) > 0:
        first = first[0]
    input_axes = _input_axes_for(first)
    if input_axes is not None:
        return input_axes(first, inputs)
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
            new = _leaves(model(*_unflatten(args, grown)))
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
    if not isinstance(model, Module):
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
    inputs = _leaves(args)
    _check_dtypes(model, inputs)
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            outputs = _leaves(model(*args))  # the model's own errors reach the user unchanged
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
    internal = _leaves(result)
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
    from .._version import __version__

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
    inputs = _leaves(args)
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            expected = [t.data for t in _leaves(model(*args))]
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
