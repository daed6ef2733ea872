"""viz.graph(): the DOT text for known graphs, parameter names, an LSTM, freed graphs, files
(.dot written atomically; .svg through Graphviz's `dot`, here a fake one put on PATH)."""

import os
import re
import shutil
import stat
import sys

import pytest

import zerograd as zg
from zerograd import models, nn
from zerograd.viz import graph

_NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)", fillcolor=(\w+)\];$')
_EDGE = re.compile(r'^  (n\d+) -> (n\d+)(?: \[label="(\d+)"\])?;$')
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def parse(dot: str):
    """Check the DOT is well formed and return ({id: (label, colour)}, [(from, to, index)])."""
    bare = _QUOTED.sub('""', dot)  # braces inside labels don't count
    depth = 0
    for ch in bare:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "a '}' closes nothing"
    assert depth == 0, "unbalanced braces"
    lines = dot.splitlines()
    assert lines[0] == "digraph autograd {" and lines[-1] == "}" and dot.endswith("\n")
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if node := _NODE.match(line):
            assert node.group(1) not in nodes, f"node {node.group(1)} declared twice"
            nodes[node.group(1)] = (_unescape(node.group(2)), node.group(3))
        elif edge := _EDGE.match(line):
            edges.append((edge.group(1), edge.group(2), edge.group(3)))
        else:
            assert line.startswith(("  graph [", "  node [")), f"unexpected line {line!r}"
    for a, b, _ in edges:
        assert a in nodes and b in nodes, f"edge {a} -> {b} to an undeclared node"
    return nodes, edges


def labelled_edges(dot: str) -> set:
    """Edges as (from label, to label), for graphs whose labels are unique."""
    nodes, edges = parse(dot)
    return {(nodes[a][0], nodes[b][0]) for a, b, _ in edges}


def functions(dot: str) -> list:
    nodes, _ = parse(dot)
    return [label.split("\n")[0] for label, colour in nodes.values() if colour == "white"]


def small_graph():
    x = zg.ones(2, 3)
    W = zg.ones(3, 4, requires_grad=True)
    b = zg.zeros(4, requires_grad=True)
    return (x @ W + b).relu(), {"x": x, "W": W, "b": b}


# --- structure ---------------------------------------------------------------------------------


def test_relu_of_affine_has_exactly_these_nodes_and_edges():
    y, names = small_graph()
    dot = graph(y, params=names)
    nodes, edges = parse(dot)
    assert sorted(nodes.values()) == sorted(
        [
            ("x\n(2, 3)", "lightgrey"),  # needs no grad: grey
            ("W\n(3, 4)", "lightblue"),
            ("b\n(4,)", "lightblue"),
            ("matmul\n(2, 4)", "white"),
            ("add\n(2, 4)", "white"),
            ("relu\n(2, 4)", "white"),
            ("output\n(2, 4)", "palegreen"),
        ]
    )
    assert len(edges) == 6
    assert labelled_edges(dot) == {
        ("x\n(2, 3)", "matmul\n(2, 4)"),
        ("W\n(3, 4)", "matmul\n(2, 4)"),
        ("matmul\n(2, 4)", "add\n(2, 4)"),
        ("b\n(4,)", "add\n(2, 4)"),
        ("add\n(2, 4)", "relu\n(2, 4)"),
        ("relu\n(2, 4)", "output\n(2, 4)"),
    }


def test_same_graph_same_text():
    y, names = small_graph()
    first = graph(y, params=names)
    assert graph(y, params=names) == first
    y2, names2 = small_graph()  # a new graph of the same shape: same ids too
    assert graph(y2, params=names2) == first


def test_without_names_leaves_show_their_shapes_and_constants_can_go():
    y, _ = small_graph()
    nodes, _ = parse(graph(y))
    assert ("(3, 4)", "lightblue") in nodes.values() and ("(2, 3)", "lightgrey") in nodes.values()
    nodes, edges = parse(graph(y, show_constants=False))
    assert "lightgrey" not in [colour for _, colour in nodes.values()]
    assert len(nodes) == 6 and len(edges) == 5


def test_a_tensor_used_twice_is_one_node_with_two_edges():
    x = zg.ones(3, requires_grad=True)
    nodes, edges = parse(graph(x * x, params={"x": x}))
    assert [label for label, _ in nodes.values()].count("x\n(3,)") == 1
    (mul,) = [n for n, (label, _) in nodes.items() if label.startswith("mul")]
    assert sum(1 for _, b, _ in edges if b == mul) == 2


def test_a_leaf_alone_is_the_output():
    w = zg.ones(2, requires_grad=True)
    nodes, edges = parse(graph(w, params={"w": w}))
    assert list(nodes.values()) == [("w\n(2,)", "palegreen")] and edges == []


def test_mlp_graph_names_every_parameter_once():
    model = models.MLP(784, [16, 8], 10)
    x, t = zg.randn(4, 784), zg.tensor([1, 2, 3, 4])
    loss = zg.functional.cross_entropy(model(x), t)
    params = dict(model.named_parameters())
    dot = graph(loss, params=params)
    nodes, _ = parse(dot)
    labels = [label.split("\n")[0] for label, _ in nodes.values()]
    for name in params:
        assert labels.count(name) == 1, name
    assert functions(dot).count("linear") == 3 and functions(dot).count("relu") == 2
    assert ("1.weight\n(16, 784)", "lightblue") in nodes.values()


def test_frozen_parameter_is_grey_and_says_so():
    layer = nn.Linear(3, 2)
    layer.weight.requires_grad_(False)
    y = layer(zg.ones(1, 3))
    nodes, _ = parse(graph(y, params=dict(layer.named_parameters())))
    assert ("weight (frozen)\n(2, 3)", "lightgrey") in nodes.values()
    assert ("bias\n(2,)", "lightblue") in nodes.values()


def test_lstm_model_graph():
    model = models.RowLSTM(hidden_size=8)
    y = model(zg.zeros(2, 1, 28, 28))
    params = dict(model.named_parameters())
    dot = graph(y, params=params)
    nodes, edges = parse(dot)
    labels = {label.split("\n")[0] for label, _ in nodes.values()}
    assert set(params) <= labels
    (lstm,) = [n for n, (label, _) in nodes.items() if label.startswith("lstmlayer")]
    # the recurrence makes two outputs: every step's h (28, 2, 8) and the last c (2, 8)
    assert nodes[lstm][0] == "lstmlayer\n(28, 2, 8)\n(2, 8)"
    assert [index for a, _, index in edges if a == lstm] == ["0"]
    assert sum(1 for _, b, _ in edges if b == lstm) == 5  # inputs, h0, c0, weight_hh, bias_hh
    assert functions(dot)[-1] == "linear"


def test_char_lstm_state_graph_and_conv_graph():
    model = models.CharLSTM(vocab_size=11, embedding_dim=4, hidden_size=6)
    logits, (h, c) = model(zg.tensor([[1, 2, 3]]))
    for out in (logits, h, c):
        parse(graph(out, params=dict(model.named_parameters())))
    conv = models.SimpleConvNet(filters=2, hidden=4)
    dot = graph(conv(zg.zeros(1, 1, 28, 28)), params=dict(conv.named_parameters()))
    assert functions(dot) == ["conv2d", "relu", "maxpool2d", "reshape", "linear", "relu", "linear"]


def test_a_deep_graph_needs_no_recursion():
    x = zg.ones(2, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    nodes, edges = parse(graph(y))
    assert len(nodes) == 3002 and len(edges) == 3001


def test_labels_are_escaped():
    w = zg.ones(2, requires_grad=True)
    name = 'odd "name" \\ with {braces}\nand a newline'
    dot = graph(w * 2.0, params={name: w})
    nodes, _ = parse(dot)
    assert (f"{name}\n(2,)", "lightblue") in nodes.values()
    assert '\\"name\\"' in dot and "\\\\" in dot


# --- errors ------------------------------------------------------------------------------------


def test_freed_graph_is_a_clear_error():
    y, names = small_graph()
    loss = y.sum()
    loss.backward(retain_graph=True)
    assert "relu" in graph(loss)  # kept: still drawable
    loss.backward()
    with pytest.raises(RuntimeError, match=r"freed by backward\(\).*retain_graph=True"):
        graph(loss)


def test_no_graph_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"shape \(2,\) has no autograd graph"):
        graph(zg.ones(2))
    w = zg.ones(2, requires_grad=True)
    with zg.no_grad():
        y = w * 2
    with pytest.raises(RuntimeError, match="outside no_grad"):
        graph(y)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([1.0],), {}, TypeError, "expected a Tensor.*got list"),
        ((None,), {"params": [("w", None)]}, TypeError, "mapping of names to tensors"),
        ((None,), {"params": {"w": 1.0}}, TypeError, r"params\['w'\] is float"),
        ((None,), {"rankdir": "UP"}, ValueError, "rankdir must be one of TB, LR"),
    ],
)
def test_bad_arguments(args, kwargs, error, match):
    if args == (None,):
        args = (small_graph()[0],)
    with pytest.raises(error, match=match):
        graph(*args, **kwargs)


# --- files -------------------------------------------------------------------------------------


def test_dot_file_is_written_whole(tmp_path):
    y, names = small_graph()
    target = tmp_path / "g.dot"
    text = graph(y, target, params=names)
    assert target.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]  # no temporary file left
    assert graph(y, str(tmp_path / "g.gv")) == graph(y)


def test_bad_path_suffix_and_missing_folder(tmp_path):
    y, _ = small_graph()
    with pytest.raises(ValueError, match=r"suffix '\.txt'.*\.dot, \.gv"):
        graph(y, tmp_path / "g.txt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        graph(y, tmp_path / "missing" / "g.dot")
    assert list(tmp_path.iterdir()) == []


def test_svg_without_dot_says_to_install_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` anywhere
    y, _ = small_graph()
    with pytest.raises(RuntimeError, match=r"Graphviz's `dot`.*apt install graphviz.*\.dot"):
        graph(y, tmp_path / "g.svg")
    assert list(tmp_path.iterdir()) == []


def _fake_dot(folder, body: str):
    """An executable `dot` in ``folder`` that records its arguments, then runs ``body``."""
    folder.mkdir()
    script = folder / "dot"
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{folder / "args.txt"}"\n{body}\n', encoding="utf-8"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


@pytest.mark.skipif(sys.platform == "win32", reason="the fake dot is a shell script")
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_drawing_runs_dot_on_path(tmp_path, monkeypatch, fmt):
    bin_dir = tmp_path / "bin"
    _fake_dot(bin_dir, "cat")  # echoes the DOT it was given, as its "drawing"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    y, names = small_graph()
    target = tmp_path / f"graph.{fmt.upper()}"  # the suffix is read case-blind
    text = graph(y, target, params=names)
    assert (bin_dir / "args.txt").read_text().splitlines() == [f"-T{fmt}"]
    assert target.read_bytes() == text.encode("utf-8")


@pytest.mark.skipif(sys.platform == "win32", reason="the fake dot is a shell script")
def test_dot_failing_leaves_no_file(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    _fake_dot(bin_dir, 'echo "Error: syntax error in line 1" >&2\nexit 3')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    y, _ = small_graph()
    with pytest.raises(RuntimeError, match=r"exit status 3 \(Error: syntax error in line 1\)"):
        graph(y, tmp_path / "g.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


@pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="needs Graphviz's dot command: install Graphviz (graphviz.org/download)",
)
def test_real_graphviz_renders_an_lstm_model_graph(tmp_path):
    zg.manual_seed(0)
    model = zg.models.create("char-lstm", vocab_size=20, embedding_dim=4, hidden_size=8)
    out, _ = model(zg.tensor([[1, 2, 3]]))
    svg = tmp_path / "g.svg"
    zg.viz.graph(out.sum(), svg, params=dict(model.named_parameters()))
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text
    assert "lstm.weight_hh_l0" in text and "lstmlayer" in text
