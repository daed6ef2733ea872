"""Anomaly mode: the first op that makes a NaN or inf is named, with its layer; fit and the CLI."""

import math
import warnings

import numpy as np
import pytest

import zerograd as zg
from zerograd import nn, optim
from zerograd.autograd import (
    AnomalyError,
    Function,
    detect_anomaly,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from zerograd.nn import module as nn_module
from zerograd.train import Callback, ModelCheckpoint, fit

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow warnings


class Log(nn.Module):
    def forward(self, x):
        return x.log()


class Sqrt(nn.Module):
    def forward(self, x):
        return x.sqrt()


class NaNBackward(Function):
    """y = x in forward; its backward returns NaN: a broken custom op."""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy * math.nan


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    y = rng.integers(0, 3, n)
    x = (centers[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)
    return [(zg.tensor(x[i : i + 50]), zg.tensor(y[i : i + 50])) for i in range(0, n, 50)]


def mlp():
    zg.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))


@pytest.fixture(autouse=True)
def anomaly_mode_is_off_around_each_test():
    assert not is_anomaly_enabled()
    yield
    set_detect_anomaly(False)
    assert not nn_module._global_forward_pre_hooks and not nn_module._global_forward_hooks


def test_nan_from_log_of_a_negative_names_the_op_and_the_layer_path():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.Identity(), Log()), nn.Linear(4, 2))
    x = zg.tensor(np.array([[1.0, -2.0, 3.0], [0.5, 0.5, -4.0]], dtype=np.float32))
    with detect_anomaly(), pytest.raises(AnomalyError, match="forward of Log in layer 1.1") as e:
        model(x)
    assert (e.value.op, e.value.phase, e.value.where) == ("Log", "forward", "1.1 (Log)")
    assert e.value.shape == (2, 4) and e.value.nan > 0 and e.value.inf == 0
    text = str(e.value)
    assert "shape (2, 4)" in text and f"{e.value.nan} NaN and 0 inf values (of 8)" in text
    assert "inputs were all finite" in text and "log or division at 0" in text


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3)
        )
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.features(x).mean(axis=(2, 3)))


def test_a_layer_deep_in_a_model_is_named_by_its_path_and_configuration():
    zg.manual_seed(0)
    model = ConvNet()
    with zg.no_grad():
        model.features[3].weight.data[...] = 1e38  # its products overflow float32
    x = zg.rand(2, 1, 8, 8) + 0.1
    with detect_anomaly(), pytest.raises(AnomalyError) as e:
        model(x)
    assert e.value.op == "Conv2d"
    assert e.value.where == "features.3 (Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1)))"
    with detect_anomaly(), pytest.raises(AnomalyError) as e:
        model.features(x)  # called on its own, it is the top-level module
    assert e.value.where == "3 (Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1)))"


def test_inf_from_exp_overflow():
    x = zg.tensor(np.array([1.0, 100.0, 2.0], dtype=np.float32), requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"1 inf values \(of 3\)") as e:
        x.exp()
    assert (e.value.op, e.value.phase, e.value.where) == ("Exp", "forward", None)
    assert "outside any nn.Module" in str(e.value) and "in [1, 100]" in str(e.value)


def test_inf_first_appearing_in_backward_is_named_as_backward_with_the_forward_layer():
    model = nn.Sequential(nn.ReLU(), Sqrt())
    x = zg.tensor(np.array([0.0, 4.0, -1.0], dtype=np.float32), requires_grad=True)
    with detect_anomaly():
        y = model(x).sum()  # sqrt(0) = 0 is fine; its gradient 1 / (2 sqrt(0)) is not
        with pytest.raises(AnomalyError, match="backward of Sqrt") as e:
            y.backward()
    assert (e.value.op, e.value.phase, e.value.where) == ("Sqrt", "backward", "1 (Sqrt)")
    assert e.value.inf == 2 and e.value.nan == 0  # relu's zeros, both
    assert "made in forward in layer 1 (Sqrt)" in str(e.value)


def test_a_custom_function_whose_backward_returns_nan():
    x = zg.tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        y = (NaNBackward()(x) * 3).sum()
        with pytest.raises(AnomalyError, match="backward of NaNBackward") as e:
            y.backward()
    assert e.value.nan == 2 and "test_anomaly.py" in str(e.value)  # where it was called


def test_backward_of_a_graph_built_before_anomaly_mode_says_the_layer_is_unknown():
    x = zg.tensor([0.0, 1.0], requires_grad=True)
    y = x.sqrt().sum()
    with detect_anomaly(), pytest.raises(AnomalyError, match="layer is unknown"):
        y.backward()


def test_ops_fed_nan_are_not_blamed_the_op_that_made_it_is():
    model = nn.Sequential(nn.Linear(2, 3), Log(), nn.Linear(3, 3), nn.Tanh())
    x = zg.tensor(np.array([[1.0, -1.0], [-3.0, 2.0]], dtype=np.float32))
    with detect_anomaly(), pytest.raises(AnomalyError) as e:
        model(x)
    assert e.value.op == "Log" and e.value.where == "1 (Log)"

    bad = zg.tensor([-1.0, 2.0]).log()  # made outside anomaly mode: nan, 0.69
    with detect_anomaly():
        out = model[2]((bad * 2 + 1).reshape(1, 2).exp() @ zg.ones(2, 3))  # no error
    assert np.isnan(out.data).all()


def test_nan_upstream_gradients_are_not_blamed_on_the_ops_below():
    x = zg.tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        y = (x * 2).exp()
        y.backward(zg.tensor([math.nan, 1.0]))  # the user's gradient: no op made it
    assert np.isnan(x.grad.data[0]) and np.isfinite(x.grad.data[1])


def test_off_by_default_nothing_is_checked_and_no_hooks_run():
    assert not is_anomaly_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = nn.Sequential(Log())(zg.tensor([-1.0], requires_grad=True))
    assert np.isnan(y.data).all()
    assert not nn_module._global_forward_pre_hooks
    assert not hasattr(y.grad_fn, "_anomaly_origin")  # nothing recorded either


def test_the_context_manager_restores_the_previous_setting_even_when_the_body_raises():
    with pytest.raises(KeyError):
        with detect_anomaly():
            assert is_anomaly_enabled() and nn_module._global_forward_pre_hooks
            raise KeyError("boom")
    assert not is_anomaly_enabled() and not nn_module._global_forward_pre_hooks
    with set_detect_anomaly(True):
        with pytest.raises(AnomalyError):
            with detect_anomaly():
                zg.tensor([-1.0]).log()
        assert is_anomaly_enabled()  # the outer setting, not off
        with set_detect_anomaly(False):
            assert not is_anomaly_enabled()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()


def test_detect_anomaly_as_a_decorator():
    @detect_anomaly()
    def step():
        assert is_anomaly_enabled()
        return zg.tensor([0.0]).log()

    with pytest.raises(AnomalyError, match="1 inf"):
        step()
    assert not is_anomaly_enabled()


def test_a_forward_that_raised_leaves_no_stale_layer_behind():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("broken layer")

    broken = nn.Sequential(nn.Linear(2, 2), Broken())
    model = nn.Sequential(nn.Identity(), Log())
    with detect_anomaly():
        with pytest.raises(ValueError, match="broken layer"):
            broken(zg.ones(1, 2))  # its entries were never popped
        with pytest.raises(AnomalyError) as e:
            model(zg.tensor([[-1.0, 1.0]]))
    assert e.value.where == "1 (Log)"


# --- fit ---------------------------------------------------------------------------------------


class Record(Callback):
    def __init__(self):
        self.ended = False

    def on_train_end(self, trainer):
        self.ended = trainer.stop_reason


def test_fit_with_detect_anomaly_stops_at_a_diverging_lr_naming_epoch_batch_and_layer(tmp_path):
    model = mlp()
    record = Record()
    ckpt = ModelCheckpoint(tmp_path, monitor="accuracy")
    with pytest.raises(AnomalyError) as e:
        fit(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=1e3),
            blobs(),
            epochs=5,
            callbacks=[record, ckpt],
            progress=False,
            detect_anomaly=True,
        )
    err = e.value
    text = str(err)
    assert (err.epoch, err.batch_index) == (2, 1)  # found by running it: diverges in epoch 2
    assert text.startswith("fit: stopped at epoch 2, batch 2 of 6 (batch index 1): anomaly in")
    assert err.where == "2 (Linear(in_features=16, out_features=3, bias=True))"
    assert "in layer 2 (Linear(" in text and err.op == "Linear"
    assert record.ended == text and err.history.stop_reason == text and len(err.history) == 1
    assert not is_anomaly_enabled() and not nn_module._global_forward_pre_hooks
    from zerograd.io import load_checkpoint

    info = load_checkpoint(ckpt.last_path, mlp())  # epoch 1's, not a partial epoch 2
    assert info["epoch"] == 1


def test_fit_detect_anomaly_names_an_optimizer_step_that_overflows():
    zg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 1))
    x = zg.ones(4, 2)
    y = zg.full((4, 1), 1e3)
    with pytest.raises(AnomalyError, match="optimizer step") as e:
        fit(
            model,
            nn.MSELoss(),
            optim.SGD(model.parameters(), lr=1e37),
            [(x, y)],
            metrics=(),
            progress=False,
            detect_anomaly=True,
        )
    assert e.value.phase == "optimizer step" and e.value.where.startswith("0 (Linear(")
    assert "lr=1e+37 is too large" in str(e.value) and "epoch 1, batch 1 of 1" in str(e.value)


def test_fit_detect_anomaly_blames_nan_in_the_data():
    data = blobs(100)
    data[1][0].data[3, 1] = math.nan
    model = mlp()
    with pytest.raises(AnomalyError, match="batch 2 of 2 .* anomaly in the data: the batch's in"):
        fit(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            data,
            progress=False,
            detect_anomaly=True,
        )


def test_a_nan_loss_stops_fit_by_default_naming_when_and_what_to_try(capsys):
    model = mlp()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=1e3),
        blobs(),
        epochs=5,
        progress=False,
    )
    reason = history.stop_reason
    assert len(history) == 1 and "the loss became nan at epoch 2, batch 2" in reason
    assert "Lower the learning rate" in reason
    assert "detect_anomaly=True" in reason and "--detect-anomaly" in reason
    assert reason in capsys.readouterr().err


def test_nan_guard_false_trains_on_as_pytorch_does():
    model = mlp()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=1e3),
        blobs(),
        epochs=3,
        progress=False,
        nan_guard=False,
    )
    assert len(history) == 3 and history.stop_reason is None
    assert math.isnan(history["loss"][-1])


# --- the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROGRAD_DATA", str(tmp_path / "nodata"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_cli_detect_anomaly_flag_stops_with_the_layer_and_writes_no_model(no_data, capsys):
    from zerograd.cli import main

    out = no_data / "run"
    args = ["train", "--out", str(out), "--no-progress", "--epochs", "1", "--sample"]
    assert main([*args, "--lr", "1e6", "--detect-anomaly"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("zerograd train: fit: stopped at epoch 1, batch")
    assert "in layer 3 (Linear(in_features=256" in err[0]
    assert not out.exists()  # nothing was saved, so no run folder is left behind


def test_cli_help_explains_detect_anomaly(capsys):
    from zerograd.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--detect-anomaly" in text and "NaN/inf" in text and "the layer" in text
