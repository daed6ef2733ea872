"""No graph or gradient outlives its training step: the nodes are freed by reference counting
alone (the garbage collector is off while the steps run), and gradients are replaced, not kept.

A live ``Function`` is a graph node; ``gc.get_objects()`` lists every one (Functions carry a
``__dict__``, so the collector tracks them) without collecting anything.
"""

import gc
import weakref
from contextlib import contextmanager

import numpy as np
import pytest

import zerograd as zg
from zerograd import autograd, nn, optim
from zerograd.autograd import Function
from zerograd.models import CharLSTM, RowLSTM
from zerograd.train import evaluate, fit


def live_nodes() -> list:
    # type(o), not isinstance: isinstance asks o.__class__, which wakes lazy modules (torch)
    return [o for o in gc.get_objects() if issubclass(type(o), Function)]


@contextmanager
def collector_off():
    """Nodes in a reference cycle would survive until the collector ran: don't let it."""
    gc.collect()  # what earlier tests left
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(4 * 3 * 3, 10),
    )


def lstm():
    return RowLSTM(input_size=8, hidden_size=16)


MODELS = {"mlp": mlp, "cnn": cnn, "lstm": lstm}


def batches(n_batches=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (
            zg.tensor(rng.standard_normal((size, 1, 8, 8)).astype(np.float32)),
            zg.tensor(rng.integers(0, 10, size)),
        )
        for _ in range(n_batches)
    ]


@pytest.mark.parametrize("name", list(MODELS))
def test_no_graph_node_outlives_a_training_step(name):
    zg.manual_seed(0)
    model = MODELS[name]()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    with collector_off():
        assert live_nodes() == []
        for x, y in batches():
            out = model(x)
            loss = loss_fn(out, y)
            assert len(live_nodes()) > 3  # the graph exists until backward
            opt.zero_grad()
            loss.backward()
            opt.step()
            # all that is left are the two nodes whose outputs this test still holds, freed
            held = live_nodes()
            assert sorted(map(id, held)) == sorted([id(out.grad_fn), id(loss.grad_fn)])
            assert all(node.inputs is None and node.saved is None for node in held)
            del held
        del out, loss
        assert live_nodes() == []


@pytest.mark.parametrize("name", list(MODELS))
def test_a_graph_never_backpropagated_is_freed_when_its_output_goes(name):
    zg.manual_seed(0)
    model = MODELS[name]()
    x, _ = batches(1)[0]
    with collector_off():
        out = (model(x).exp() * 2).sigmoid().tanh()  # ops that save their outputs
        assert len(live_nodes()) > 5
        del out  # e.g. an evaluation forgotten outside no_grad(): no cycle keeps it
        assert live_nodes() == []


@pytest.mark.parametrize("name", list(MODELS))
def test_no_graph_node_outlives_fit_with_or_without_anomaly_mode(name):
    zg.manual_seed(0)
    model = MODELS[name]()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    with collector_off():
        for detect in (False, True):
            fit(
                model,
                nn.CrossEntropyLoss(),
                opt,
                batches(),
                epochs=2,
                val_loader=batches(2, seed=1),
                progress=False,
                detect_anomaly=detect,
            )
            assert live_nodes() == []
            assert autograd.anomaly_context == [] and not autograd.is_anomaly_enabled()
        evaluate(model, batches(2), nn.CrossEntropyLoss())
        assert live_nodes() == []


def test_stateful_fit_frees_each_chunk_graph_behind_the_carried_state():
    zg.manual_seed(0)
    model = CharLSTM(vocab_size=12, embedding_dim=8, hidden_size=16)
    rng = np.random.default_rng(0)
    chunks = [
        (zg.tensor(rng.integers(0, 12, (4, 6))), zg.tensor(rng.integers(0, 12, (4, 6))))
        for _ in range(5)
    ]
    with collector_off():
        fit(
            model,
            _flat_ce,
            optim.SGD(model.parameters(), lr=0.1),
            chunks,
            epochs=2,
            metrics=(),
            progress=False,
            stateful=True,
        )
        assert live_nodes() == []


def _flat_ce(logits, y):
    n, length, v = logits.shape
    return nn.CrossEntropyLoss()(logits.reshape(n * length, v), y.reshape(n * length))


@pytest.mark.parametrize("set_to_none", [True, False])
def test_gradients_are_replaced_or_zeroed_never_kept_from_earlier_steps(set_to_none):
    zg.manual_seed(0)
    model = cnn()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    params = list(model.parameters())
    earlier = []  # weak references to every gradient array any step made
    first_ids = None
    for x, y in batches(6):
        opt.zero_grad(set_to_none=set_to_none)
        loss_fn(model(x), y).backward()
        opt.step()
        grads = [p.grad for p in params]
        for p, g in zip(params, grads):
            assert g.grad_fn is None and not g.requires_grad  # no graph hangs off a gradient
            assert g.data.base is None and g.shape == p.shape  # owns its memory, same shape
        if first_ids is None:
            first_ids = [id(g.data) for g in grads]
        elif not set_to_none:  # zeroed in place: the very same arrays every step
            assert [id(g.data) for g in grads] == first_ids
        earlier.extend(weakref.ref(g.data) for g in grads)
        del grads
    alive = {id(r()) for r in earlier if r() is not None}
    assert alive == {id(p.grad.data) for p in params}  # only the current step's gradients
    state = opt.state_dict()["state"]
    assert all(set(s) <= {"momentum_buffer"} for s in state.values())  # no per-step growth
