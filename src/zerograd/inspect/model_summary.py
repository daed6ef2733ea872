"""``summary(model, input_shape)``: a model's layers, output shapes, parameters and memory.

What Keras's ``model.summary()`` and torchinfo's ``summary(model, input_size)`` print: one row per
module, indented by its depth in the model, with its name, class and configuration, the shape it
returned, and how many parameters it holds (trainable or frozen); then the totals and a rough
memory estimate.

How: one forward pass on zeros (or on ``input_data``), in eval mode and under ``no_grad()``, with a
global forward hook (``nn.register_module_forward_hook``) that records what every module returns.
The hooks are removed and every module's training flag restored when it ends, even if the forward
pass raises. Parameter counts come from the modules themselves, not from the forward pass.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from .. import backend
from ..autograd import Tensor, no_grad
from ..creation import zeros
from ..nn import Module, register_module_forward_hook, register_module_forward_pre_hook

__all__ = ["summary", "ModelSummary", "LayerSummary"]

_MB = 1e6  # megabytes of 10^6 bytes, as torchinfo counts them


@dataclass(frozen=True)
class LayerSummary:
    """One row of a ``ModelSummary``: one module of the model.

    Attributes
    ----------
    name : str
        Its path in the model, as in ``named_modules()`` (``"0"``, ``"lstm"``, ``"block.conv1"``);
        ``""`` for the model itself.
    label : str
        How the table names it, as ``print(model)`` does: ``(0): Conv2d(1, 30, kernel_size=...)``,
        ``(1): ReLU()``; the model's own row has its class name alone.
    class_name : str
        ``type(module).__name__``.
    config : str
        ``module.extra_repr()``, what ``print(model)`` shows inside the parentheses.
    depth : int
        0 for the model, 1 for its children, and so on.
    output_shape : tuple, list, dict or None
        The shape of what it returned the first time it ran: a tuple for a tensor, a list of
        those for a tuple of outputs (``LSTM``: ``[(N, L, H), [(layers, N, H), (layers, N, H)]]``),
        None if it never ran in the forward pass (or returned no tensor).
    calls : int
        How many times it ran in the forward pass.
    params, trainable_params, frozen_params : int
        The parameters counted on this row: its own, plus those of sub-modules deeper than the
        summary's ``depth`` (which get no row). A parameter shared by several modules is counted
        on the first row only, so the column adds up to the total.
    """

    name: str
    label: str
    class_name: str
    config: str
    depth: int
    output_shape: object
    calls: int
    params: int
    trainable_params: int
    frozen_params: int


@dataclass(frozen=True)
class ModelSummary:
    """What ``summary`` returns: ``print()`` it for the table, read its attributes for the data.

    Attributes
    ----------
    model_name : str
        The model's class name.
    input_shapes : list of tuple
        The shape of each input the forward pass got (batch dimension included).
    input_dtypes : list of str
        Their dtypes.
    rows : list of LayerSummary
        One per module shown, in the order of ``named_modules()``.
    total_params, trainable_params, frozen_params : int
        Over the whole model, each parameter once: ``total_params`` is
        ``sum(p.numel() for p in model.parameters())``; frozen ones have ``requires_grad=False``.
    input_bytes : int
        The inputs' size.
    activation_bytes : int
        The size of every tensor a module returned, each tensor once (inputs excluded).
    param_bytes, grad_bytes, buffer_bytes : int
        The parameters; their gradients (trainable parameters only); the buffers (running
        statistics).
    depth : int
        The deepest level that has rows.
    layer_width : int or None
        The widest the first column may be before its text is cut with ``...``.
    """

    model_name: str
    input_shapes: list
    input_dtypes: list
    rows: list
    total_params: int
    trainable_params: int
    frozen_params: int
    input_bytes: int
    activation_bytes: int
    param_bytes: int
    grad_bytes: int
    buffer_bytes: int
    depth: int
    layer_width: int | None

    @property
    def forward_backward_bytes(self) -> int:
        """The activations twice: each module output is kept for backward and gets a gradient."""
        return 2 * self.activation_bytes

    @property
    def total_bytes(self) -> int:
        """Inputs + forward/backward activations + parameters + gradients + buffers."""
        return (
            self.input_bytes
            + self.forward_backward_bytes
            + self.param_bytes
            + self.grad_bytes
            + self.buffer_bytes
        )

    def __str__(self) -> str:
        head = ("Layer (type)", "Output Shape", "Param #", "Trainable")
        table = [head] + [
            (
                _cut("  " * row.depth + row.label, self.layer_width),
                _format_shape(row.output_shape)
                + (f" [{row.calls} calls]" if row.calls > 1 else ""),
                f"{row.params:,}" if row.params else "--",
                _trainable_word(row),
            )
            for row in self.rows
        ]
        widths = [max(len(cells[i]) for cells in table) for i in range(4)]
        gap = "   "

        def line(cells) -> str:
            return gap.join(
                [
                    cells[0].ljust(widths[0]),
                    cells[1].ljust(widths[1]),
                    cells[2].rjust(widths[2]),
                    cells[3].ljust(widths[3]),
                ]
            ).rstrip()

        width = sum(widths) + len(gap) * 3
        inputs = ", ".join(f"{s} {d}" for s, d in zip(self.input_shapes, self.input_dtypes))
        out = [f"{self.model_name} summary, input {inputs}", "=" * width, line(head), "=" * width]
        out += [line(cells) for cells in table[1:]]
        out += [
            "=" * width,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Frozen params: {self.frozen_params:,}",
            "-" * width,
            f"Input size (MB): {_mb(self.input_bytes)}",
            f"Forward/backward pass size (MB): {_mb(self.forward_backward_bytes)}",
            f"Params size (MB): {_mb(self.param_bytes)}",
            f"Gradients size (MB): {_mb(self.grad_bytes)}",
            f"Buffers size (MB): {_mb(self.buffer_bytes)}",
            f"Estimated total size (MB): {_mb(self.total_bytes)}",
            "=" * width,
            "Forward/backward: every module's output once, x2 for its gradient; what layers keep",
            "inside (im2col columns, LSTM gates) is not counted. MB = 10^6 bytes.",
        ]
        return "\n".join(out)

    __repr__ = __str__


def summary(
    model: Module,
    input_shape=None,
    dtype=None,
    depth: int = 3,
    *,
    input_data=None,
    layer_width: int | None = 60,
) -> ModelSummary:
    """A table of ``model``'s layers: output shapes, parameter counts and a memory estimate.

    Runs ``model`` once on zeros of ``input_shape`` (or on ``input_data``) in eval mode under
    ``no_grad()``, recording each module's output with a forward hook; the hooks are removed
    and each module's training flag is restored afterwards, even if the forward pass fails.

    Parameters
    ----------
    model : Module
        The model; it is not changed.
    input_shape : tuple of int, or a list of them
        The input's shape *including the batch dimension*, as torchinfo's ``input_size``:
        ``(1, 1, 28, 28)`` for one MNIST image, ``(1, 50)`` for 50 character ids. A list or
        tuple of shapes gives several inputs, passed to ``forward`` in order.
    dtype : dtype, or a list of them, optional
        The inputs' dtype: ``zerograd.int64`` for ids (``models.CharLSTM``). Default: the dtype
        of the model's first floating parameter (float32 unless the model was converted).
    depth : int
        Modules deeper than this get no row; their parameters are counted on their ancestor's
        row (0 gives one row for the whole model). Default 3, as in torchinfo.
    input_data : Tensor or array, or a tuple of them, keyword only
        An example batch to run instead of zeros (then leave ``input_shape`` and ``dtype`` out).
    layer_width : int or None, keyword only
        Cut the first column's text to this many characters (None: never cut). The full text
        is in each row's ``label``.

    Returns
    -------
    ModelSummary
        ``print()`` it for the table; ``rows``, ``total_params``, ``trainable_params``,
        ``frozen_params`` and the ``*_bytes`` fields hold the numbers.

    Raises
    ------
    TypeError
        If ``model`` is not a Module, or an input, shape or dtype has the wrong type.
    ValueError
        If ``input_shape`` has a size below 1, both or neither of ``input_shape`` and
        ``input_data`` are given, or ``depth`` / ``layer_width`` is out of range.
    ValueError, TypeError, IndexError, RuntimeError
        If the forward pass fails: the same type, naming the input shape, the module that
        failed and the original message.

    Examples
    --------
    >>> from zerograd import nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> _ = model[2].freeze()
    >>> s = summary(model, (1, 4))
    >>> s.total_params, s.trainable_params, s.frozen_params
    (23, 15, 8)
    >>> [(row.name, row.output_shape, row.params) for row in s.rows]
    [('', (1, 2), 0), ('0', (1, 3), 15), ('1', (1, 3), 0), ('2', (1, 2), 8)]
    >>> print(s)
    Sequential summary, input (1, 4) float32
    ============================================================================================
    Layer (type)                                              Output Shape   Param #   Trainable
    ============================================================================================
    Sequential                                                (1, 2)              --   --
      (0): Linear(in_features=4, out_features=3, bias=True)   (1, 3)              15   yes
      (1): ReLU()                                             (1, 3)              --   --
      (2): Linear(in_features=3, out_features=2, bias=True)   (1, 2)               8   no
    ============================================================================================
    Total params: 23
    Trainable params: 15
    Frozen params: 8
    ...
    Estimated total size (MB): 0.000232
    ...
    """
    if not isinstance(model, Module):
        raise TypeError(
            f"summary: model must be a zerograd nn.Module, got {type(model).__name__}. Pass the "
            "model object, e.g. summary(models.SimpleConvNet(), (1, 1, 28, 28))."
        )
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 0:
        raise ValueError(f"summary: depth must be a whole number >= 0, got {depth!r}.")
    if layer_width is not None and (
        isinstance(layer_width, bool)
        or not isinstance(layer_width, numbers.Integral)
        or layer_width < 10
    ):
        raise ValueError(
            f"summary: layer_width must be a whole number >= 10 or None, got {layer_width!r}."
        )
    inputs = _make_inputs(model, input_shape, dtype, input_data)

    named = list(model.named_modules())  # every module once, parents before children
    where = {id(m): i for i, (_, m) in enumerate(named)}
    recorded = [[] for _ in named]  # per module: the output shapes of each call
    outputs = {}  # id -> every tensor a module returned, kept alive so the ids stay unique
    running = []  # the modules whose forward has begun and not ended: who to blame on failure

    def before(module, args):
        running.append(module)

    def after(module, args, output):
        # pop down to this module (past any inner one whose failure its parent caught)
        while running and running.pop() is not module:
            pass
        i = where.get(id(module))
        if i is not None:  # not a module made on the fly inside forward
            recorded[i].append(_shape_of(output, outputs))

    training = [(m, m.training) for _, m in named]
    try:
        model.eval()
        with (
            no_grad(),
            register_module_forward_pre_hook(before),
            register_module_forward_hook(after),
        ):
            model(*inputs)
    except Exception as e:
        raise _forward_error(model, named, inputs, input_shape is None, running, e) from e
    finally:
        for m, flag in training:
            object.__setattr__(m, "training", flag)  # as Module.train sets it

    rows = _rows(named, recorded, depth)
    params = list(model.parameters())
    for x in inputs:  # a module that returns its input (Identity) adds no memory
        outputs.pop(id(x), None)
    return ModelSummary(
        model_name=type(model).__name__,
        input_shapes=[tuple(x.shape) for x in inputs],
        input_dtypes=[str(x.dtype) for x in inputs],
        rows=rows,
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        frozen_params=sum(p.numel() for p in params if not p.requires_grad),
        input_bytes=sum(x.data.nbytes for x in inputs),
        activation_bytes=sum(t.data.nbytes for t in outputs.values()),
        param_bytes=sum(p.data.nbytes for p in params),
        grad_bytes=sum(p.data.nbytes for p in params if p.requires_grad),
        buffer_bytes=sum(b.data.nbytes for b in model.buffers()),
        depth=int(depth),
        layer_width=layer_width,
    )


# --- inputs ------------------------------------------------------------------------------------


def _make_inputs(model: Module, input_shape, dtype, input_data) -> list:
    """The forward pass's positional arguments: zeros of each shape, or ``input_data``."""
    if (input_shape is None) == (input_data is None):
        got = "both" if input_data is not None else "neither"
        raise ValueError(
            f"summary: pass exactly one of input_shape (with the batch dimension, e.g. "
            f"(1, 1, 28, 28)) and input_data (an example batch); got {got}."
        )
    if input_data is not None:
        if dtype is not None:
            raise ValueError(
                "summary: dtype goes with input_shape; input_data keeps its own dtype (convert "
                "it first, e.g. x.long() or x.float())."
            )
        items = input_data if isinstance(input_data, (tuple, list)) else (input_data,)
        inputs = []
        for i, x in enumerate(items):
            if isinstance(x, Tensor):
                inputs.append(x.detach())
            elif backend.is_array(x):
                inputs.append(Tensor(x))
            else:
                raise TypeError(
                    f"summary: input_data item {i} is {type(x).__name__}; pass Tensors or arrays "
                    "(zerograd.tensor(...) converts Python lists)."
                )
        return inputs

    shapes = _check_shapes(input_shape)
    if dtype is None:
        floats = [p.dtype for p in model.parameters() if p.dtype.kind == "f"]
        dtypes = [floats[0] if floats else backend.get_default_dtype()] * len(shapes)
    elif isinstance(dtype, (tuple, list)):
        if len(dtype) != len(shapes):
            raise ValueError(
                f"summary: {len(dtype)} dtypes for {len(shapes)} input shapes {shapes}; give one "
                "dtype per input, or a single dtype for all."
            )
        dtypes = list(dtype)
    else:
        dtypes = [dtype] * len(shapes)
    return [zeros(shape, dtype=backend.resolve_dtype(d)) for shape, d in zip(shapes, dtypes)]


def _is_shape(value) -> bool:
    return isinstance(value, (tuple, list)) and all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in value
    )


def _check_shapes(input_shape) -> list:
    """``input_shape`` as a list of shapes (tuples of ints >= 1), one per input."""
    if _is_shape(input_shape):
        shapes = [input_shape]
    elif (
        isinstance(input_shape, (tuple, list))
        and input_shape
        and all(_is_shape(s) for s in input_shape)
    ):
        shapes = list(input_shape)
    else:
        raise TypeError(
            f"summary: input_shape must be a tuple of ints with the batch dimension, e.g. "
            f"(1, 1, 28, 28), or a list of such tuples (one per input); got {input_shape!r}."
        )
    for shape in shapes:
        if len(shape) == 0 or any(n < 1 for n in shape):
            raise ValueError(
                f"summary: input_shape {tuple(shape)} must have at least one dimension and "
                "every size >= 1, the batch dimension first, e.g. (1, 1, 28, 28)."
            )
    return [tuple(int(n) for n in shape) for shape in shapes]


# --- recording ---------------------------------------------------------------------------------


def _shape_of(output, outputs: dict):
    """The shape of ``output`` (nested lists for tuples of outputs); keeps each tensor seen."""
    if isinstance(output, Tensor):
        outputs.setdefault(id(output), output)
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return [_shape_of(o, outputs) for o in output]
    if isinstance(output, dict):
        return {k: _shape_of(v, outputs) for k, v in output.items()}
    return None


def _forward_error(model, named, inputs, from_data: bool, running: list, e: Exception):
    """The forward pass's error again, saying which input and which module it was."""
    shapes = ", ".join(f"{tuple(x.shape)} {x.dtype}" for x in inputs)
    given = f"input_data of shape {shapes}" if from_data else f"input_shape {shapes}"
    blame = ""
    if running:
        names = {id(m): name for name, m in named}
        culprit = running[-1]
        name = names.get(id(culprit))
        if name:  # "" is the model itself, already named
            blame = f" in ({name}): {type(culprit).__name__}"
    message = (
        f"summary: {type(model).__name__}'s forward pass failed on {given}{blame}: {e} "
        "(input_shape includes the batch dimension, e.g. (1, 1, 28, 28) for one MNIST image; "
        "token ids need dtype=zerograd.int64.)"
    )
    kind = type(e) if type(e) in (ValueError, TypeError, IndexError, RuntimeError) else RuntimeError
    return kind(message)


def _rows(named: list, recorded: list, depth: int) -> list:
    """One LayerSummary per module down to ``depth``; deeper modules' parameters go to the row
    of their nearest shown ancestor, and a shared parameter counts on the first row only."""
    counts = {}  # row position -> [params, trainable, frozen]
    shown = []  # (position in named, module depth)
    owner_at_depth = {}  # depth -> the latest shown module at that depth (pre-order)
    counted = set()
    for i, (name, m) in enumerate(named):
        level = 0 if name == "" else name.count(".") + 1
        if level <= depth:
            shown.append((i, level))
            owner_at_depth[level] = i
            owner = i
            counts[i] = [0, 0, 0]
        else:
            owner = owner_at_depth[depth]  # pre-order: the ancestor at the deepest shown level
        for p in m.parameters(recurse=False):
            if id(p) in counted:
                continue
            counted.add(id(p))
            n = p.numel()
            counts[owner][0] += n
            counts[owner][1 if p.requires_grad else 2] += n

    rows = []
    for i, level in shown:
        name, m = named[i]
        calls = recorded[i]
        params, trainable, frozen = counts[i]
        config = m.extra_repr()
        label = type(m).__name__
        leaf = next(m.children(), None) is None
        if config or (name and leaf):  # leaves print as "ReLU()", like print(model)
            label += f"({config})"
        if name:
            label = f"({name.rsplit('.', 1)[-1]}): {label}"
        rows.append(
            LayerSummary(
                name=name,
                label=label,
                class_name=type(m).__name__,
                config=config,
                depth=level,
                output_shape=calls[0] if calls else None,
                calls=len(calls),
                params=params,
                trainable_params=trainable,
                frozen_params=frozen,
            )
        )
    return rows


# --- printing ----------------------------------------------------------------------------------


def _format_shape(shape) -> str:
    if shape is None:
        return "--"
    if isinstance(shape, tuple):
        return str(shape)
    if isinstance(shape, list):
        return "[" + ", ".join(_format_shape(s) for s in shape) + "]"
    return "{" + ", ".join(f"{k!r}: {_format_shape(v)}" for k, v in shape.items()) + "}"


def _mb(n: int) -> str:
    """Bytes as MB with two decimals, or to the byte (six decimals) below 0.01 MB, not 0.00."""
    mb = n / _MB
    return f"{mb:.2f}" if mb >= 0.01 or n == 0 else f"{mb:.6f}"


def _trainable_word(row: LayerSummary) -> str:
    if row.params == 0:
        return "--"
    if row.frozen_params == 0:
        return "yes"
    return "no" if row.trainable_params == 0 else "partly"


def _cut(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: width - 3] + "..."
