"""fit/evaluate/predict and the callbacks, on a small problem the tests make themselves."""

import io
import math
import os

import numpy as np
import pytest

import zerograd as zg
from zerograd import nn, optim
from zerograd.train import (
    Callback,
    EarlyStopping,
    LRSchedulerCallback,
    ModelCheckpoint,
    ProgressBar,
    evaluate,
    fit,
    predict,
)


def blobs(n=300, seed=0):
    """Three separable Gaussian blobs in 2-D."""
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    y = rng.integers(0, 3, n)
    x = (centers[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)
    return x, y


def batches(x, y, size=50):
    return [
        (zg.tensor(x[i : i + size]), zg.tensor(y[i : i + size])) for i in range(0, len(x), size)
    ]


def make_model():
    zg.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))


def test_fit_learns_and_reports_every_epoch():
    x, y = blobs()
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    out = io.StringIO()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        batches(x, y),
        epochs=5,
        val_loader=batches(*blobs(90, seed=1)),
        callbacks=[ProgressBar(file=out)],
    )
    assert len(history) == 5
    assert history["loss"][-1] < history["loss"][0]
    assert history.last["val_accuracy"] > 0.95
    for key in ("accuracy", "val_loss", "lr", "seconds", "images_per_s"):
        assert key in history.last
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith("epoch 1/5") and "img/s" in lines[0]


def test_evaluate_and_predict_leave_the_mode_and_build_no_graph():
    x, y = blobs(60)
    model = make_model()
    model.train()
    result = evaluate(model, batches(x, y), nn.CrossEntropyLoss(), metrics=("accuracy", "top2"))
    assert set(result) == {"loss", "accuracy", "top2"} and model.training
    p = predict(model, x, batch_size=7)
    assert p.shape == (60, 3) and not p.requires_grad and model.training


def test_nan_guard_stops_before_the_update_and_keeps_the_last_good_checkpoint(tmp_path):
    x, y = blobs(100)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    class PoisonAt(Callback):
        def on_epoch_begin(self, trainer, epoch):
            if epoch == 2:
                with zg.no_grad():
                    model[0].bias.data[0] = math.nan  # the loss of the next batch is nan

    ckpt = ModelCheckpoint(tmp_path, monitor="accuracy")
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        batches(x, y),
        epochs=3,
        callbacks=[ckpt, PoisonAt()],
        progress=False,
    )
    assert len(history) == 1
    assert "NaN guard" in history.stop_reason and "epoch 2, batch 1" in history.stop_reason
    assert np.isfinite(model[2].weight.data).all()  # no NaN reached the weights by an update
    from zerograd.io import load_checkpoint

    fresh = make_model()
    info = load_checkpoint(ckpt.last_path, fresh)
    assert info["epoch"] == 1 and np.isfinite(fresh[0].bias.data).all()


def test_early_stopping_and_checkpoints(tmp_path):
    x, y = blobs(100)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.0)  # nothing improves
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    ckpt = ModelCheckpoint(tmp_path / "ck", monitor="val_accuracy")
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        batches(x, y),
        epochs=10,
        val_loader=batches(x, y),
        callbacks=[stopper, ckpt],
        progress=False,
    )
    assert len(history) == 3 and "early stopping" in history.stop_reason
    assert os.path.exists(ckpt.best_path) and os.path.exists(ckpt.last_path)


def test_monitoring_a_missing_value_says_what_is_there():
    x, y = blobs(50)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(KeyError, match="pass val_loader"):
        fit(
            model,
            nn.CrossEntropyLoss(),
            opt,
            batches(x, y),
            epochs=1,
            callbacks=[EarlyStopping(monitor="val_loss")],
            progress=False,
        )


def test_lr_schedule_callback_steps_per_epoch():
    x, y = blobs(50)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        batches(x, y),
        epochs=3,
        callbacks=[LRSchedulerCallback(sched)],
        progress=False,
    )
    assert history["lr"] == [1.0, 0.5, 0.25]


def test_fit_validates_batches_and_epochs():
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="positive int"):
        fit(model, nn.CrossEntropyLoss(), opt, [], epochs=0)
    with pytest.raises(ValueError, match="pair"):
        fit(model, nn.CrossEntropyLoss(), opt, [zg.ones(2, 2)], epochs=1, progress=False)


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason='needs matplotlib: pip install "zerograd[plot]"')
    from zerograd.train import History

    h = History(
        [
            {"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_loss": 1.1},
            {"epoch": 2, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.7},
        ]
    )
    path = tmp_path / "curves.png"
    h.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert h["val_accuracy"][0] != h["val_accuracy"][0]  # nan where not measured


class Accumulator(nn.Module):
    """A stateful toy: state h <- tanh(h + x W) per chunk; logs how each chunk's state arrived."""

    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(zg.tensor([[0.5, -0.5]]))
        self.head = nn.Linear(2, 3)
        self.arrived = []

    def forward(self, x, state):
        self.arrived.append(None if state is None else (state.requires_grad, state.data.copy()))
        h = zg.zeros(len(x), 2) if state is None else state
        for k in range(x.shape[1]):
            h = (h + x[:, k : k + 1] @ self.W).tanh()
        return self.head(h), h


def test_stateful_fit_carries_the_state_and_cuts_the_graph_between_chunks():
    rng = np.random.default_rng(0)
    chunks = [
        (
            zg.tensor(rng.standard_normal((4, 5)).astype(np.float32)),
            zg.tensor(rng.integers(0, 3, 4)),
        )
        for _ in range(3)
    ]
    model = Accumulator()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        chunks,
        epochs=2,
        metrics=(),
        progress=False,
        stateful=True,
        clip_grad_norm=0.01,
    )
    assert len(history) == 2
    # per epoch: None first (a fresh state), then the previous chunk's state, detached
    assert model.arrived[0] is None and model.arrived[3] is None
    for k in (1, 2, 4, 5):
        requires_grad, value = model.arrived[k]
        assert not requires_grad and np.abs(value).sum() > 0
    val = evaluate(model, chunks, nn.CrossEntropyLoss(), metrics=(), stateful=True)
    assert np.isfinite(val["loss"]) and model.arrived[7] is not None


def test_stateful_fit_needs_a_model_that_returns_its_state():
    x, y = blobs(20)
    model = nn.Linear(2, 3)
    with pytest.raises(TypeError, match=r"must take model\(x, state\) .*does not take a state"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
            batches(x, y), progress=False, stateful=True)  # fmt: skip
