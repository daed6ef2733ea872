"""The autograd graph's public walk (PyTorch's names): Tensor.grad_fn and output_nr,
Function.name(), next_functions, inputs, output_shapes, and autograd.graph_nodes."""

import ast
from pathlib import Path

import numpy as np
import pytest

import zerograd as zg
from zerograd.autograd import Function, graph_nodes

SRC = Path(__file__).resolve().parents[2] / "src" / "zerograd"


def test_grad_fn_and_next_functions_follow_the_inputs():
    a = zg.ones(2, 3, requires_grad=True)
    b = zg.ones(3, 4)  # a constant: no node, no grad
    h = a @ b
    y = h.relu()
    assert a.grad_fn is None and a.is_leaf and a.output_nr == 0
    assert y.grad_fn.name() == "relu" and h.grad_fn.name() == "matmul"
    assert y.grad_fn.next_functions == ((h.grad_fn, 0),)
    assert h.grad_fn.next_functions == ((None, 0), (None, 0))  # a leaf and a constant
    assert h.grad_fn.inputs == (a, b)


def test_several_outputs_have_their_output_nr_and_shapes():
    x = zg.arange(6, dtype="float32").requires_grad_()
    first, second = zg.split(x, [2, 4])
    y = second * 2
    assert (first.output_nr, second.output_nr) == (0, 1)
    assert first.grad_fn is second.grad_fn
    assert first.grad_fn.output_shapes == [(2,), (4,)]
    assert y.grad_fn.output_shapes is None  # one output: its tensor has the shape
    assert y.grad_fn.next_functions[0] == (second.grad_fn, 1)


def test_non_tensor_arguments_have_no_node():
    x = zg.ones(2, 3, requires_grad=True)
    y = x.reshape(3, 2)
    assert all(fn is None for fn, _ in y.grad_fn.next_functions)
    assert len(y.grad_fn.next_functions) == len(y.grad_fn.inputs)


def test_graph_nodes_lists_each_node_once_in_forward_order():
    x = zg.ones(3, requires_grad=True)
    e = x.exp()
    y = (e * e + e).sum()  # e is read three times, its node is listed once
    nodes = graph_nodes(y)
    assert [fn.name() for fn in nodes] == ["exp", "mul", "add", "sum"]
    assert nodes[-1] is y.grad_fn
    for i, fn in enumerate(nodes):  # every input's maker comes earlier
        assert all(m is None or nodes.index(m) < i for m, _ in fn.next_functions)
    assert graph_nodes(x) == [] and graph_nodes(zg.ones(2)) == []


def test_graph_nodes_of_a_deep_chain_needs_no_recursion():
    x = zg.ones(1, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    assert len(graph_nodes(y)) == 20000


def test_a_freed_graph_is_an_error_naming_who_asked():
    x = zg.ones(2, requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"^graph_nodes: the graph through sum was already"):
        graph_nodes(y)
    with pytest.raises(RuntimeError, match=r"^next_functions: .* retain_graph=True"):
        _ = y.grad_fn.next_functions
    with pytest.raises(TypeError, match="expected a Tensor, got ndarray"):
        graph_nodes(np.ones(2))


def test_walking_keeps_the_graph_for_backward():
    x = zg.ones(2, requires_grad=True)
    y = (x * 3).sum()
    [fn.next_functions for fn in graph_nodes(y)]
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_op_name_is_set_by_subclasses_and_name_is_reserved():
    class Cube(Function):
        def forward(self, x):
            return x**3

    class Named(Function):
        op_name = "my_op"

    assert Cube().name() == "cube" and Named().name() == "my_op"
    with pytest.raises(TypeError, match="op_name = 'old'"):

        class Old(Function):
            name = "old"


def test_viz_reads_the_graph_through_public_names_only():
    tree = ast.parse((SRC / "inspect" / "viz.py").read_text())
    private = sorted(
        {
            n.attr
            for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.endswith("__")
        }
        | {
            a.name
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom)
            for a in n.names
            if a.name.startswith("_") and a.name != "annotations"
        }
    )
    assert private == []


def test_the_docs_example_prints_what_it_says(capsys):
    text = (SRC.parents[1] / "docs" / "inspect.md").read_text()
    section = text.split("### Walking the graph yourself", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/inspect.md", "exec"), {})
    expected = [line[2:] for line in code.splitlines() if line.startswith("# ")]
    assert capsys.readouterr().out.splitlines() == expected
