"""Every op keeps what its backward needs in one way only, ``save_for_backward``.

For every registered op case and for the fused layers as models use them (conv, batch norm,
pooling, dropout, linear, the recurrent layers, embedding, cross-entropy), backward runs and then
every node of the graph is searched: no array may be left in its ``__dict__`` (directly or in a
tuple, list or dict), the hyper-parameters its constructor was given aside. With
``retain_graph=True`` the saved state stays and a second backward gives the same gradients. And
the in-place check covers what was moved: editing a saved constant input before backward raises.
"""

import numpy as np
import pytest

import zerograd as zg
from zerograd import functional as F
from zerograd import nn
from zerograd.autograd import Function, Tensor, graph_nodes
from zerograd.functional.registry import CASES, case_inputs


@pytest.fixture(autouse=True)
def constructor_attributes(monkeypatch):
    """Record, per node, the attributes ``__init__`` set (hyper-parameters such as a class
    weight or running statistics), which the search below leaves alone while unchanged."""
    given = {}
    call = Function.__call__

    def recording_call(self, *inputs):
        given[self] = dict(vars(self))
        return call(self, *inputs)

    monkeypatch.setattr(Function, "__call__", recording_call)
    return given


def _arrays_in(value, path, found):
    """Append ``path`` for every array (or Tensor, which holds one) inside ``value``."""
    if isinstance(value, (np.ndarray, np.generic, Tensor)) and not isinstance(value, np.dtype):
        found.append(path)
    elif isinstance(value, (tuple, list, set, frozenset)):
        for i, v in enumerate(value):
            _arrays_in(v, f"{path}[{i}]", found)
    elif isinstance(value, dict):
        for k, v in value.items():
            _arrays_in(v, f"{path}[{k!r}]", found)


def left_over(node, given) -> list:
    """The arrays still reachable from the node's ``__dict__``, as ``Class.attribute`` paths."""
    init = given.get(node, {})
    found = []
    for name, value in vars(node).items():
        if name in init and init[name] is value:
            continue  # a hyper-parameter from __init__, as it was given
        _arrays_in(value, f"{type(node).__name__}.{name}", found)
    return found


# --- the cases: registry cases, then the fused layers as models run them --------------------


def _registry(case):
    def build():
        inputs = case_inputs(case)
        return case.fn(*inputs), [t for t in inputs if t.requires_grad]

    return build


def _model(make, inputs, loss=None):
    """Run ``make()``'s model on ``inputs()`` (then ``loss`` of its output): output, parameters."""

    def build():
        zg.manual_seed(0)
        model = make()
        model.train()
        args = inputs()
        out = model(*args)
        if loss is not None:
            out = loss(out)
        return out, list(model.parameters())

    return build


def _images(*shape):
    return lambda: (zg.tensor(np.random.default_rng(1).standard_normal(shape).astype("float32")),)


def _labels_ce(out):
    labels = zg.tensor(np.arange(out.shape[0]) % out.shape[1])
    return F.cross_entropy(out, labels, label_smoothing=0.1)


class _Recurrent(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.rnn = layer

    def forward(self, x):
        out, state = self.rnn(x)
        return (out,) + (state if isinstance(state, tuple) else (state,))


class _Words(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(7, 5, padding_idx=0)
        self.lstm = nn.LSTM(5, 4, batch_first=True)
        self.head = nn.Linear(4, 7)

    def forward(self, idx):
        out, _ = self.lstm(self.embed(idx))
        return self.head(out).reshape(-1, 7)


def _conv_net():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, stride=2, padding=1),
        nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        nn.Dropout2d(0.2),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(4 * 3 * 3, 5),
    )


def _frozen_conv():
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Linear(4, 2))
    net[0].weight.requires_grad_(False)  # conv2d keeps no columns: gW is not needed
    return net


def _eval_bn():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.GELU(approximate="tanh"))
    net[1].eval()
    return net


MODELS = {
    "model_conv_bn_pool_dropout_linear_ce": _model(_conv_net, _images(4, 2, 6, 6), _labels_ce),
    "model_frozen_conv_weight": _model(_frozen_conv, _images(2, 2, 6, 6)),
    "model_batch_norm_eval_gelu": _model(_eval_bn, _images(5, 3)),
    "model_rnn_2_layers_bidirectional": _model(
        lambda: _Recurrent(nn.RNN(3, 4, num_layers=2, bidirectional=True)), _images(5, 2, 3)
    ),
    "model_lstm_2_layers_bidirectional": _model(
        lambda: _Recurrent(nn.LSTM(3, 4, num_layers=2, bidirectional=True)), _images(5, 2, 3)
    ),
    "model_gru_2_layers_bidirectional": _model(
        lambda: _Recurrent(nn.GRU(3, 4, num_layers=2, bidirectional=True)), _images(5, 2, 3)
    ),
    "model_embedding_lstm_ce": _model(
        _Words,
        lambda: (zg.tensor(np.random.default_rng(2).integers(0, 7, (3, 6))),),
        lambda out: F.cross_entropy(out, zg.tensor(np.arange(18) % 7)),
    ),
}

BUILDS = {c.name: _registry(c) for c in CASES} | MODELS


def _scalar(out):
    """A scalar loss from every output that requires grad: sum(o * c), c fixed and random."""
    outs = out if isinstance(out, tuple) else (out,)
    rng = np.random.default_rng(3)
    loss = None
    for o in outs:
        if not o.requires_grad:
            continue
        term = (o * rng.uniform(0.5, 1.5, o.shape).astype(o.dtype)).sum()
        loss = term if loss is None else loss + term
    return loss


def _run(build):
    """Forward: (loss, every node of its graph, the leaves that need gradients)."""
    out, leaves = build()
    loss = _scalar(out)
    return loss, graph_nodes(loss), leaves


def _functions_defined():
    """Every public Function subclass of zerograd.functional's modules."""
    found = set()
    for module in vars(F).values():
        if getattr(module, "__name__", "").startswith("zerograd.functional."):
            for obj in vars(module).values():
                if isinstance(obj, type) and issubclass(obj, Function) and obj is not Function:
                    if obj.__module__ == module.__name__ and not obj.__name__.startswith("_"):
                        found.add(obj)
    return found


def test_the_cases_reach_every_function():
    assert set(BUILDS) >= {c.name for c in CASES}
    reached = set()
    for build in BUILDS.values():
        reached |= {type(node) for node in _run(build)[1]}
    defined = _functions_defined()
    assert len(defined) > 40
    missing = sorted(c.__name__ for c in defined - reached)
    assert not missing, f"Functions no case runs: {missing}"


@pytest.mark.parametrize("name", list(BUILDS))
def test_backward_leaves_no_array_on_any_node(name, constructor_attributes):
    loss, nodes, _ = _run(BUILDS[name])
    loss.backward()
    held = {}
    for node in nodes:
        assert node.saved is None, f"{type(node).__name__}: saved not freed"
        paths = left_over(node, constructor_attributes)
        if paths:
            held[type(node).__name__] = paths
    assert not held, f"arrays left on nodes after backward: {held}"


@pytest.mark.parametrize("name", list(BUILDS))
def test_retain_graph_keeps_the_saved_state_and_backward_repeats(name):
    loss, nodes, leaves = _run(BUILDS[name])
    saved = {node: node.saved for node in nodes}
    loss.backward(retain_graph=True)
    for node in nodes:
        assert node.saved is saved[node], f"{type(node).__name__}: saved changed"
    first = [None if t.grad is None else t.grad.data.copy() for t in leaves]
    assert any(g is not None for g in first)
    for t in leaves:
        t.grad = None
    loss.backward()
    for t, g in zip(leaves, first):
        if g is None:
            assert t.grad is None
        else:
            np.testing.assert_allclose(t.grad.data, g, rtol=1e-12, atol=0)
    assert all(node.saved is None for node in nodes)


# --- the version check covers the constants that were attributes ------------------------------


def _leaf(shape, lo=-1.0, hi=1.0, seed=0):
    data = np.random.default_rng(seed).uniform(lo, hi, shape)
    return zg.tensor(data, dtype="float64", requires_grad=True)


def _where():
    cond = zg.tensor(np.array([[True, False, True], [False, True, True]]))
    y = F.where(cond, _leaf((2, 3)), _leaf((2, 3), seed=1))

    def edit():
        cond[0, 0] = False

    return y.sum(), edit


def _bce_weight():
    w = zg.tensor(np.full((2, 3), 0.5), dtype="float64")
    loss = F.binary_cross_entropy(_leaf((2, 3), 0.1, 0.9), _leaf((2, 3), 0.0, 1.0), weight=w)
    return loss, lambda: w.mul_(2)


def _bce_logits_weight():
    w = zg.tensor(np.full(3, 2.0), dtype="float64")
    loss = F.binary_cross_entropy_with_logits(_leaf((2, 3)), _leaf((2, 3), 0.0, 1.0), weight=w)
    return loss, lambda: w.add_(1)


def _bce_logits_pos_weight():
    pw = zg.tensor(np.full(3, 2.0), dtype="float64")
    loss = F.binary_cross_entropy_with_logits(_leaf((2, 3)), _leaf((2, 3), 0.0, 1.0), pos_weight=pw)
    return loss, lambda: pw.fill_(3.0)


def _cross_entropy_probabilities():
    T = zg.tensor(np.full((2, 3), 1 / 3), dtype="float64")  # kept as it is: no smoothing, weight
    loss = F.cross_entropy(_leaf((2, 3)), T)
    return loss, lambda: T.mul_(0.5)


EDITS = {
    "where_condition": _where,
    "binary_cross_entropy_weight": _bce_weight,
    "bce_with_logits_weight": _bce_logits_weight,
    "bce_with_logits_pos_weight": _bce_logits_pos_weight,
    "cross_entropy_probability_targets": _cross_entropy_probabilities,
}


@pytest.mark.parametrize("name", list(EDITS))
def test_editing_a_saved_input_in_place_before_backward_raises(name):
    loss, edit = EDITS[name]()
    edit()
    with pytest.raises(RuntimeError, match="modified in\\s+place"):
        loss.backward()


@pytest.mark.parametrize("name", list(EDITS))
def test_without_the_edit_backward_runs(name):
    loss, _ = EDITS[name]()
    loss.backward()


def test_a_converted_weight_is_a_copy_so_editing_the_original_changes_nothing():
    p, t = _leaf((2, 3), 0.1, 0.9), _leaf((2, 3), 0.0, 1.0)
    w32 = zg.tensor(np.full((2, 3), 0.5, dtype="float32"))  # converted to float64: a new array
    F.binary_cross_entropy(p, t, weight=w32).backward()
    expected = p.grad.data.copy()
    p.grad = None
    loss = F.binary_cross_entropy(p, t, weight=w32)
    w32.mul_(2)
    loss.backward()
    np.testing.assert_array_equal(p.grad.data, expected)


def test_max_with_dim_hands_its_indices_over_and_keeps_them_for_backward():
    x = _leaf((3, 4))
    values, indices = F.max(x, dim=1)
    node = values.grad_fn
    assert node.indices is None  # taken by the wrapper
    np.testing.assert_array_equal(indices.data, x.data.argmax(axis=1))
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, x.data == x.data.max(axis=1, keepdims=True))


def test_batch_norm_hands_its_batch_statistics_over():
    x = _leaf((6, 3))
    rm, rv = zg.zeros(3, dtype="float64"), zg.ones(3, dtype="float64")
    y = F.batch_norm(x, rm, rv, training=True, momentum=1.0)
    assert y.grad_fn.mean is None and y.grad_fn.var is None
    np.testing.assert_allclose(rm.data, x.data.mean(axis=0))
    np.testing.assert_allclose(rv.data, x.data.var(axis=0, ddof=1))
