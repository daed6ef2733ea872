"""The graph walk, public and read-only: ``graph_nodes(tensor)`` lists every node a tensor depends
on; the engine sorts the graph with the same walk (``_topological_order``). With ``Tensor.grad_fn``,
``Tensor.output_nr`` and ``Function.name()``, ``next_functions``, ``inputs``, ``output_shapes``
it is all that drawing tools (``zerograd.viz``) read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tensor import Tensor

if TYPE_CHECKING:  # for the annotations only: function.py imports this module
    from .function import Function

__all__ = ["graph_nodes"]


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
