"""``graph(tensor)``: the autograd graph behind a tensor, as Graphviz DOT source.

What torchviz's ``make_dot`` draws for PyTorch: every ``Function`` that recorded a step of the
computation (its ``name`` and the shape it made), every leaf tensor it read (a parameter by its
name, an input by its shape), edges in the direction the data flows, and the output at the end.
The walk is the autograd core's public one (``autograd.graph_nodes``, then each node's
``inputs`` and ``next_functions``, PyTorch's names); it only reads the graph, so ``backward()``
works as before afterwards.

The text is plain DOT (https://graphviz.org/doc/info/lang.html): write it to a ``.dot`` file, or
give a ``.svg`` / ``.png`` / ``.pdf`` path to have Graphviz's ``dot`` program draw it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

from ..autograd import Tensor, graph_nodes
from ..io import atomic_write
from ..nn import Parameter

__all__ = ["graph"]

_DOT_SUFFIXES = (".dot", ".gv")
_DRAWN_SUFFIXES = (".svg", ".png", ".pdf")
_RANKDIRS = ("TB", "LR", "BT", "RL")

# fill colours, as torchviz uses them: parameters blue, the output green
_FUNCTION_COLOR = "white"
_PARAM_COLOR = "lightblue"
_CONSTANT_COLOR = "lightgrey"
_OUTPUT_COLOR = "palegreen"


def graph(
    tensor: Tensor,
    path=None,
    params: Mapping | None = None,
    *,
    show_constants: bool = True,
    rankdir: str = "TB",
) -> str:
    """The autograd graph that made ``tensor``, as Graphviz DOT source.

    Nodes:

    - one per ``Function`` (box, white): its ``name`` (``matmul``, ``relu``, ``conv2d`` ...) and
      the shape of its output (of each output, for functions with several);
    - one per leaf tensor it reads: labelled with its name when ``params`` names it, else with
      its shape alone; blue when it requires grad, grey when it does not (the data, targets,
      frozen parameters, an RNN's zero initial state: constants, as far as gradients go);
    - the output (green), ``output`` and its shape.

    Edges go the way the data flows, from each input to the function that reads it; an edge out
    of a function with several outputs is labelled with the output's index. Non-tensor
    arguments (Python numbers, shapes) are not drawn. Node ids (``n0``, ``n1`` ...) are numbered
    inputs first, so the same graph always gives the same text.

    Parameters
    ----------
    tensor : Tensor
        The tensor whose history to draw, usually a loss or a model's output. Draw it before
        ``backward()``, which frees the graph (or call ``backward(retain_graph=True)``).
    path : str or os.PathLike, optional
        Also write the graph there: ``.dot`` / ``.gv`` writes the DOT text; ``.svg``, ``.png`` or
        ``.pdf`` runs Graphviz's ``dot -T<format>``, which must be installed (on PATH). The
        file appears whole or not at all.
    params : mapping of str to Tensor, optional
        Names for leaf tensors, usually ``dict(model.named_parameters())``; add your inputs to
        name them too: ``{"x": x, **dict(model.named_parameters())}``.
    show_constants : bool, keyword only
        Draw leaves that do not require grad (grey). False leaves them out, as torchviz does.
    rankdir : {"TB", "LR", "BT", "RL"}, keyword only
        The direction of the drawing: top to bottom (default) or left to right, and reverses.

    Returns
    -------
    str
        The DOT source.

    Raises
    ------
    TypeError
        If ``tensor`` is not a Tensor, or ``params`` is not a mapping of names to Tensors.
    ValueError
        If ``path`` has another suffix, or ``rankdir`` is not one of the four.
    RuntimeError
        If ``tensor`` has no graph (it needs no grad), the graph was freed by ``backward()``,
        or a drawn format is asked for and ``dot`` is not installed (or fails).
    FileNotFoundError
        If the folder of ``path`` does not exist.

    Examples
    --------
    >>> import zerograd as zg
    >>> x = zg.ones(2, 3)
    >>> W = zg.ones(3, 4, requires_grad=True)
    >>> b = zg.zeros(4, requires_grad=True)
    >>> y = (x @ W + b).relu()
    >>> print(graph(y, params={"x": x, "W": W, "b": b}))
    digraph autograd {
      graph [rankdir=TB];
      node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];
      n0 [label="x\\n(2, 3)", fillcolor=lightgrey];
      n1 [label="W\\n(3, 4)", fillcolor=lightblue];
      n2 [label="matmul\\n(2, 4)", fillcolor=white];
      n3 [label="b\\n(4,)", fillcolor=lightblue];
      n4 [label="add\\n(2, 4)", fillcolor=white];
      n5 [label="relu\\n(2, 4)", fillcolor=white];
      n6 [label="output\\n(2, 4)", fillcolor=palegreen];
      n0 -> n2;
      n1 -> n2;
      n2 -> n4;
      n3 -> n4;
      n4 -> n5;
      n5 -> n6;
    }
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"graph: expected a Tensor (e.g. a loss or a model's output), got "
            f"{type(tensor).__name__}. For a model returning a tuple, pass one of its tensors."
        )
    names = _check_params(params)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"graph: rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}.")
    target = _check_path(path)
    if tensor.grad_fn is None and not tensor.requires_grad:
        raise RuntimeError(
            f"graph: this tensor of shape {tensor.shape} has no autograd graph: it does not "
            "require grad. Build it from tensors with requires_grad=True (a model's parameters) "
            "and outside no_grad()."
        )

    source = _to_dot(tensor, names, show_constants, rankdir)
    if target is not None:
        _write(source, *target)
    return source


# --- checks ------------------------------------------------------------------------------------


def _check_params(params) -> dict:
    """``params`` as {id(tensor): name}; the first name wins for a tensor named twice."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(
            f"graph: params must be a mapping of names to tensors, e.g. "
            f"dict(model.named_parameters()), got {type(params).__name__}."
        )
    names = {}
    for name, t in params.items():
        if not isinstance(t, Tensor):
            raise TypeError(
                f"graph: params[{name!r}] is {type(t).__name__}, not a Tensor; pass "
                "dict(model.named_parameters()) or your own {name: tensor} dict."
            )
        names.setdefault(id(t), str(name))
    return names


def _check_path(path):
    """``(path, format, dot program)`` to write (format None for DOT text), or None; checked
    before any work."""
    if path is None:
        return None
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _DOT_SUFFIXES + _DRAWN_SUFFIXES:
        raise ValueError(
            f"graph: can't tell what to write to {path!r} from its suffix {suffix!r}; use "
            f"{', '.join(_DOT_SUFFIXES)} for DOT text or {', '.join(_DRAWN_SUFFIXES)} for a "
            "drawing made by Graphviz."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"graph: can't write {path!r}: the folder {folder!r} does not exist. Create it first."
        )
    if suffix in _DOT_SUFFIXES:
        return path, None, None
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            f"graph: drawing {path!r} needs Graphviz's `dot` program, which is not on PATH. "
            "Install Graphviz (apt install graphviz, brew install graphviz or conda install "
            "graphviz; `pip install graphviz` brings only Python bindings, not the program), "
            "or write the DOT text instead: graph(tensor, 'graph.dot')."
        )
    return path, suffix[1:], dot


# --- walking the graph -------------------------------------------------------------------------


def _to_dot(tensor: Tensor, names: dict, show_constants: bool, rankdir: str) -> str:
    root = tensor.grad_fn
    # every Function the tensor depends on, each after the functions that made its inputs
    functions = graph_nodes(tensor, who="graph")

    # the shape of each output of each function: recorded for several outputs, else read off the
    # tensors that use it (a Function keeps no reference to its output)
    out_shapes = {}
    for fn in functions:
        if fn.output_shapes is not None:
            out_shapes[fn] = fn.output_shapes
        for x, (maker, _) in zip(fn.inputs, fn.next_functions):
            if maker is not None and maker.output_shapes is None:
                out_shapes[maker] = [x.shape]
    if root is not None and root.output_shapes is None:
        out_shapes[root] = [tensor.shape]

    ids = {}  # id(leaf tensor) or id(function) -> node id
    nodes, edges = [], []

    def add_node(key, label: str, color: str) -> str:
        ids[key] = f"n{len(ids)}"
        nodes.append(f'  {ids[key]} [label="{_escape(label)}", fillcolor={color}];')
        return ids[key]

    def leaf_node(t: Tensor, color: str | None = None) -> str:
        if id(t) not in ids:
            label = _shape_text(t.shape)
            if id(t) in names:
                frozen = " (frozen)" if isinstance(t, Parameter) and not t.requires_grad else ""
                label = f"{names[id(t)]}{frozen}\n{label}"
            if color is None:
                color = _PARAM_COLOR if t.requires_grad else _CONSTANT_COLOR
            add_node(id(t), label, color)
        return ids[id(t)]

    for fn in functions:
        sources = []
        for x, (maker, output_nr) in zip(fn.inputs, fn.next_functions):
            if not isinstance(x, Tensor):
                continue  # hyper-parameters (numbers, shapes) are part of the op, not the graph
            if maker is not None:
                index = output_nr if maker.output_shapes is not None else None
                sources.append((ids[id(maker)], index))
            elif x.requires_grad or show_constants:
                sources.append((leaf_node(x), None))
        shapes = "\n".join(_shape_text(s) for s in out_shapes[fn])
        node = add_node(id(fn), f"{fn.name()}\n{shapes}", _FUNCTION_COLOR)
        for source, index in sources:
            label = "" if index is None else f' [label="{index}"]'
            edges.append(f"  {source} -> {node}{label};")

    if root is None:  # a leaf that requires grad: the whole graph is the tensor itself
        leaf_node(tensor, _OUTPUT_COLOR)
    else:
        output = add_node(id(tensor), f"output\n{_shape_text(tensor.shape)}", _OUTPUT_COLOR)
        index = tensor.output_nr if root.output_shapes is not None else None
        label = "" if index is None else f' [label="{index}"]'
        edges.append(f"  {ids[id(root)]} -> {output}{label};")

    head = [
        "digraph autograd {",
        f"  graph [rankdir={rankdir}];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
    ]
    return "\n".join(head + nodes + edges + ["}"]) + "\n"


def _shape_text(shape) -> str:
    return str(tuple(shape))


def _escape(text: str) -> str:
    """``text`` inside a DOT double-quoted string: backslashes and quotes escaped, each newline
    as DOT's ``\\n`` (a centred line break)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# --- files -------------------------------------------------------------------------------------


def _write(source: str, path: str, fmt: str | None, dot: str | None) -> None:
    if fmt is None:
        with atomic_write(path, "w") as f:
            f.write(source)
        return
    done = subprocess.run(
        [dot, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, check=False
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(
            f"graph: `{dot} -T{fmt}` failed with exit status {done.returncode} ({message}); "
            f"{path!r} was not written. Write the DOT text instead (a .dot path) to look at it."
        )
    with atomic_write(path, "wb") as f:
        f.write(done.stdout)
